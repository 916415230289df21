//! Checkpoint weights: loading (sharded) safetensors into a `VarStore` by Hugging Face name, with every tensor
//! accounted for, and saving a `VarStore` back as safetensors + `config.json` that `transformers` loads.
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, View};
use safetensors::SafeTensors;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use super::config::ModelConfig;
use crate::TorchResult;
use crate::{Error, Result};

/// The safetensors files of the checkpoint in `dir`: those named by `model.safetensors.index.json`, else
/// `model.safetensors`, else every `*.safetensors` in the folder.
pub fn checkpoint_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::checkpoint(&index, e.to_string()))?;
        let map = json["weight_map"].as_object().ok_or_else(|| Error::checkpoint(&index, "no weight_map"))?;
        let files: BTreeSet<&str> = map.values().filter_map(|v| v.as_str()).collect();
        return Ok(files.into_iter().map(|f| dir.join(f)).collect());
    }
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::checkpoint(dir, "no *.safetensors files"));
    }
    Ok(files)
}

/// Tensors a checkpoint may carry that are not parameters here: old rotary buffers, and `lm_head.weight`
/// when the embeddings are tied (the head then reads `model.embed_tokens.weight`).
fn ignorable(name: &str, cfg: &ModelConfig) -> bool {
    name.ends_with("rotary_emb.inv_freq") || (cfg.tie_word_embeddings && name == "lm_head.weight")
}

/// Fills every variable of `vs` from the checkpoint in `dir`. A tensor the model does not have, a parameter
/// the checkpoint lacks, or a shape mismatch is an [`Error::Checkpoint`] naming the tensor.
pub fn load_weights(vs: &VarStore, dir: &Path, cfg: &ModelConfig) -> Result<()> {
    let vars = vs.variables();
    let mut loaded = BTreeSet::new();
    let what = format!("a {} model", cfg.model_type);
    for file in checkpoint_files(dir)? {
        loaded.extend(fill_from_file(&vars, &file, |name| ignorable(name, cfg), &what)?);
    }
    all_loaded(&vars, &loaded, dir)
}

/// Copies every tensor of the safetensors `file` (except those `skip` names) into the variable of the same name;
/// returns the names filled. A tensor with no variable, or of another shape, is an error naming it.
pub(crate) fn fill_from_file(
    vars: &HashMap<String, Tensor>,
    file: &Path,
    skip: impl Fn(&str) -> bool,
    what: &str,
) -> Result<BTreeSet<String>> {
    let handle = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
    // SAFETY: the file is only read; a checkpoint changed on disk while loading is the caller's problem,
    // as with any reader of safetensors files.
    let mmap = unsafe { memmap2::Mmap::map(&handle) }.map_err(|e| Error::io(file, e))?;
    let st = SafeTensors::deserialize(&mmap).map_err(|e| Error::checkpoint(file, e.to_string()))?;
    let mut loaded = BTreeSet::new();
    for (name, view) in st.tensors() {
        if skip(&name) {
            continue;
        }
        let var = vars.get(&name).ok_or_else(|| {
            Error::checkpoint(file, format!("unexpected tensor {name:?}: no such parameter in {what}"))
        })?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        if shape != var.size() {
            let msg = format!("tensor {name:?} has shape {shape:?}, the model expects {:?}", var.size());
            return Err(Error::checkpoint(file, msg));
        }
        let kind = kind_of(view.dtype()).ok_or_else(|| {
            Error::checkpoint(file, format!("tensor {name:?} has unsupported dtype {:?}", view.dtype()))
        })?;
        let src = Tensor::f_from_data_size(view.data(), &shape, kind).torch()?;
        let mut dst = var.shallow_clone();
        tch::no_grad(|| dst.f_copy_(&src)).torch()?;
        loaded.insert(name);
    }
    Ok(loaded)
}

/// An error naming (up to 8 of) the variables that `loaded` lacks.
pub(crate) fn all_loaded(vars: &HashMap<String, Tensor>, loaded: &BTreeSet<String>, dir: &Path) -> Result<()> {
    let missing: BTreeSet<&String> = vars.keys().filter(|k| !loaded.contains(*k)).collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(8).map(|s| s.as_str()).collect();
        return Err(Error::checkpoint(
            dir,
            format!("{} parameter(s) missing from the checkpoint: {shown:?}", missing.len()),
        ));
    }
    Ok(())
}

pub(crate) fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::BF16 => Kind::BFloat16,
        Dtype::F16 => Kind::Half,
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        _ => return None,
    })
}

/// The `torch_dtype` spelling of a float kind.
pub fn dtype_name(kind: Kind) -> &'static str {
    match kind {
        Kind::BFloat16 => "bfloat16",
        Kind::Half => "float16",
        Kind::Double => "float64",
        _ => "float32",
    }
}

/// A tensor as safetensors sees it: bytes are copied to the CPU when the writer asks for them.
pub(crate) struct TensorView {
    tensor: Tensor,
    shape: Vec<usize>,
    dtype: Dtype,
}

impl TensorView {
    pub(crate) fn new(t: &Tensor) -> Result<Self> {
        let dtype = match t.kind() {
            Kind::BFloat16 => Dtype::BF16,
            Kind::Half => Dtype::F16,
            Kind::Float => Dtype::F32,
            Kind::Double => Dtype::F64,
            k => return Err(Error::Torch(format!("cannot save a tensor of kind {k:?}"))),
        };
        let shape = t.size().iter().map(|&d| d as usize).collect();
        Ok(TensorView { tensor: t.shallow_clone(), shape, dtype })
    }
}

impl View for TensorView {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        let cpu = self.tensor.detach().to_device(Device::Cpu).contiguous();
        let mut bytes = vec![0u8; self.data_len()];
        cpu.copy_data_u8(&mut bytes, cpu.numel());
        Cow::Owned(bytes)
    }
    fn data_len(&self) -> usize {
        self.tensor.numel() * self.tensor.kind().elt_size_in_bytes()
    }
}

/// Writes the variables of `vs` to `dir` as safetensors (split into shards of at most `max_shard_bytes`, with
/// `model.safetensors.index.json`, when they do not fit one) and `config.json` with the saved dtype.
pub fn save_checkpoint(vs: &VarStore, cfg: &ModelConfig, dir: &Path, max_shard_bytes: usize) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    let mut shards: Vec<Vec<(&String, &Tensor)>> = vec![Vec::new()];
    let mut size = 0usize;
    let mut total = 0usize;
    for (name, t) in &vars {
        let bytes = t.numel() * t.kind().elt_size_in_bytes();
        if size > 0 && size + bytes > max_shard_bytes {
            shards.push(Vec::new());
            size = 0;
        }
        size += bytes;
        total += bytes;
        shards.last_mut().expect("one shard").push((name, t));
    }
    let n = shards.len();
    let mut weight_map = BTreeMap::new();
    let metadata = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
    for (i, shard) in shards.iter().enumerate() {
        let file =
            if n == 1 { "model.safetensors".to_string() } else { format!("model-{:05}-of-{n:05}.safetensors", i + 1) };
        let views =
            shard.iter().map(|(name, t)| Ok((name.as_str(), TensorView::new(t)?))).collect::<Result<Vec<_>>>()?;
        let path = dir.join(&file);
        safetensors::serialize_to_file(views, metadata.clone(), &path)
            .map_err(|e| Error::checkpoint(&path, e.to_string()))?;
        weight_map.extend(shard.iter().map(|(name, _)| ((*name).clone(), file.clone())));
    }
    if n > 1 {
        let index = serde_json::json!({"metadata": {"total_size": total}, "weight_map": weight_map});
        write_json(&dir.join("model.safetensors.index.json"), &index)?;
    }
    let kind = vars.values().next().map(|t| t.kind()).unwrap_or(Kind::Float);
    let mut config = cfg.raw.clone();
    let key = if config.get("dtype").is_some() { "dtype" } else { "torch_dtype" };
    config[key] = serde_json::Value::from(dtype_name(kind));
    write_json(&dir.join("config.json"), &config)
}

/// Copies the tokenizer and generation files a checkpoint folder carries besides weights and config.
pub fn copy_side_files(from: &Path, to: &Path) -> Result<()> {
    let names = [
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
        "special_tokens_map.json",
        "vocab.json",
        "merges.txt",
        "chat_template.jinja",
    ];
    for name in names {
        let src = from.join(name);
        if src.exists() {
            std::fs::copy(&src, to.join(name)).map_err(|e| Error::io(&src, e))?;
        }
    }
    Ok(())
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::json("model file", e))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}
