//! Checkpoints: a model we save loads in transformers with the same logits, sharded or not, tied or not; a
//! checkpoint with a missing, unexpected or misshapen tensor is refused with the tensor's name.
use std::collections::HashMap;
use std::path::Path;

use safetensors::SafeTensors;
use tch::{Device, Kind};
use webtape::model::Policy;

use crate::common::{id_lists, json, logit_lists, max_diff, python, tempdir, tiny};
use crate::model_forward::{load, logits_of};

#[test]
fn saved_checkpoints_load_in_transformers_with_the_same_logits() {
    for (arch, shard) in [("qwen2", 1usize << 30), ("qwen3", 120_000)] {
        let policy = load(arch);
        let out = tempdir();
        policy.save(out.path(), shard).unwrap();
        let shards = std::fs::read_dir(out.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "safetensors"));
        let n = shards.count();
        assert_eq!(n > 1, shard < 1 << 30, "{arch}: {n} shard(s)");
        let inputs = id_lists(&json(&tiny(arch).join("reference.json"))["inputs"]);
        let ours = logits_of(policy.decoder(), &inputs[..2]);
        let hf = logit_lists(
            &serde_json::from_str(&python(
                "hf_logits.py",
                &[out.path().to_str().unwrap(), &serde_json::to_string(&inputs[..2]).unwrap()],
            ))
            .unwrap(),
        );
        for (a, b) in ours.iter().zip(&hf) {
            let diff = max_diff(a, b);
            assert!(diff < 1e-4, "{arch}: transformers on our checkpoint differs by {diff}");
        }
        let again = Policy::load(out.path(), Device::Cpu, Some(Kind::Float)).unwrap();
        assert_eq!(logits_of(again.decoder(), &inputs[..1]), ours[..1].to_vec(), "{arch}: reload");
    }
}

/// Copies the single-file `qwen3` checkpoint to a temp folder, letting `edit` change its tensors.
fn edited_checkpoint(
    edit: impl FnOnce(&mut HashMap<String, (safetensors::Dtype, Vec<usize>, Vec<u8>)>),
) -> tempfile::TempDir {
    let src = tiny("qwen3");
    let dir = tempdir();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: HashMap<String, (safetensors::Dtype, Vec<usize>, Vec<u8>)> =
        st.tensors().into_iter().map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec()))).collect();
    edit(&mut tensors);
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, (d, s, b))| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, &dir.path().join("model.safetensors")).unwrap();
    dir
}

fn load_error(dir: &Path) -> String {
    Policy::load(dir, Device::Cpu, Some(Kind::Float)).unwrap_err().to_string()
}

#[test]
fn missing_unexpected_and_misshapen_tensors_are_named() {
    let missing = edited_checkpoint(|t| {
        t.remove("model.layers.1.self_attn.k_norm.weight").unwrap();
    });
    let err = load_error(missing.path());
    assert!(err.contains("missing") && err.contains("model.layers.1.self_attn.k_norm.weight"), "{err}");

    let extra = edited_checkpoint(|t| {
        let norm = t["model.norm.weight"].clone();
        t.insert("model.layers.0.self_attn.q_proj.bias".into(), norm);
    });
    let err = load_error(extra.path());
    assert!(err.contains("unexpected tensor") && err.contains("model.layers.0.self_attn.q_proj.bias"), "{err}");

    let misshapen = edited_checkpoint(|t| {
        let e = t.get_mut("model.norm.weight").unwrap();
        e.1 = vec![e.1[0] / 2, 2];
    });
    let err = load_error(misshapen.path());
    assert!(err.contains("model.norm.weight") && err.contains("shape"), "{err}");
}

#[test]
fn unsupported_architectures_are_refused_by_name() {
    let dir = edited_checkpoint(|_| {});
    let cfg = std::fs::read_to_string(dir.path().join("config.json")).unwrap().replace("\"qwen3\"", "\"gemma3\"");
    std::fs::write(dir.path().join("config.json"), cfg).unwrap();
    let err = load_error(dir.path());
    assert!(err.contains("\"gemma3\" is not supported") && err.contains("config.json"), "{err}");
}
