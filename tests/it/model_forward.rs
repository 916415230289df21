//! The decoder computes the same logits as Hugging Face transformers for Qwen2, Qwen3 and Llama checkpoints,
//! alone and in a left-padded batch.
use tch::{Device, Kind, Tensor};
use webtape::model::decoder::Decoder;
use webtape::model::Policy;

use crate::common::{id_lists, json, logit_lists, max_diff, tiny};

const ARCHS: [&str; 3] = ["qwen2", "qwen3", "llama"];

/// Logits `[b, t, V]` of `ids` (left-padded to one width) as `[b][t][V]`, padding positions dropped.
pub fn logits_of(model: &Decoder, ids: &[Vec<u32>]) -> Vec<Vec<Vec<f32>>> {
    let width = ids.iter().map(Vec::len).max().unwrap();
    let mut flat = Vec::new();
    let mut mask = Vec::new();
    for row in ids {
        let pad = width - row.len();
        flat.extend(std::iter::repeat_n(0i64, pad).chain(row.iter().map(|&t| t as i64)));
        mask.extend(std::iter::repeat_n(0i64, pad).chain(std::iter::repeat_n(1, row.len())));
    }
    let shape = [ids.len() as i64, width as i64];
    let dev = model.device();
    let ids_t = Tensor::from_slice(&flat).reshape(shape).to_device(dev);
    let mask_t = Tensor::from_slice(&mask).reshape(shape).to_device(dev);
    let logits = tch::no_grad(|| model.forward_logits(&ids_t, &mask_t)).unwrap().to_kind(Kind::Float);
    let vocab = logits.size()[2] as usize;
    let values = Vec::<f32>::try_from(logits.reshape([-1]).to_device(Device::Cpu)).unwrap();
    let rows: Vec<Vec<f32>> = values.chunks(vocab).map(<[f32]>::to_vec).collect();
    ids.iter().enumerate().map(|(b, row)| rows[b * width + width - row.len()..(b + 1) * width].to_vec()).collect()
}

/// The tiny checkpoint in f32 on `WEBTAPE_TEST_DEVICE` (cpu by default; cuda where there is one).
pub fn load(arch: &str) -> Policy {
    let device = webtape::model::parse_device(&std::env::var("WEBTAPE_TEST_DEVICE").unwrap_or_else(|_| "cpu".into()));
    Policy::load(&tiny(arch), device.unwrap(), Some(Kind::Float)).unwrap()
}

#[test]
fn logits_match_transformers_for_every_architecture() {
    for arch in ARCHS {
        let policy = load(arch);
        let reference = json(&tiny(arch).join("reference.json"));
        let inputs = id_lists(&reference["inputs"]);
        let want = logit_lists(&reference["logits"]);
        for (ids, want) in inputs.iter().zip(&want) {
            let got = &logits_of(policy.decoder(), std::slice::from_ref(ids))[0];
            let diff = max_diff(got, want);
            assert!(diff < 1e-4, "{arch}: logits differ from transformers by {diff} for {} tokens", ids.len());
        }
    }
}

#[test]
fn left_padded_batch_gives_the_same_logits_as_each_sequence_alone() {
    for arch in ARCHS {
        let policy = load(arch);
        let reference = json(&tiny(arch).join("reference.json"));
        let inputs = id_lists(&reference["inputs"]);
        let batch = logits_of(policy.decoder(), &inputs);
        let hf_padded = logit_lists(&reference["padded_logits"]);
        let alone = logit_lists(&reference["logits"]);
        for i in 0..inputs.len() {
            let d_hf = max_diff(&batch[i], &hf_padded[i]);
            let d_alone = max_diff(&batch[i], &alone[i]);
            assert!(d_hf < 1e-4 && d_alone < 1e-4, "{arch} row {i}: padded batch off by {d_hf} / {d_alone}");
        }
    }
}

#[test]
fn half_precision_runs_close_to_float32() {
    for (kind, tol) in [(Kind::BFloat16, 0.25f32), (Kind::Half, 0.05)] {
        let policy = Policy::load(&tiny("qwen2"), Device::Cpu, Some(kind)).unwrap();
        let reference = json(&tiny("qwen2").join("reference.json"));
        let inputs = id_lists(&reference["inputs"]);
        let want = logit_lists(&reference["logits"]);
        let got = logits_of(policy.decoder(), &inputs[..1]);
        let scale = want[0].iter().flatten().fold(0f32, |m, x| m.max(x.abs()));
        let diff = max_diff(&got[0], &want[0]);
        assert!(diff < tol * scale, "{kind:?}: max diff {diff} vs logit scale {scale}");
    }
}
