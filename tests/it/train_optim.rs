//! AdamW equals `torch.optim.AdamW`; its saved state resumes bit for bit, alone and inside the trainer.
use tch::{Device, Kind, Tensor};
use webtape::model::policy::DEFAULT_SHARD_BYTES;
use webtape::model::Policy;
use webtape::train::optim::trainable_params;
use webtape::train::{AdamW, AdamWConfig, GrpoConfig, Trainer};

use crate::common::{python, tempdir, tiny};
use crate::model_forward::load;
use crate::train_grpo::tiny_batch;

const CFG: AdamWConfig = AdamWConfig { lr: 1e-2, betas: (0.9, 0.95), eps: 1e-8, weight_decay: 0.1 };

/// Sets `p.grad` to `g` (through a backward pass, which leaves exactly `g`).
fn set_grad(p: &Tensor, g: &Tensor) {
    p.shallow_clone().zero_grad();
    (p * g).sum(Kind::Float).backward();
}

fn params() -> Vec<(String, Tensor)> {
    tch::manual_seed(11);
    let opts = (Kind::Float, Device::Cpu);
    vec![
        ("b".to_string(), Tensor::randn([7], opts).set_requires_grad(true)),
        ("w".to_string(), Tensor::randn([5, 7], opts).set_requires_grad(true)),
    ]
}

fn run(opt: &mut AdamW, params: &[(String, Tensor)], grads: &[Vec<Tensor>]) {
    for step in grads {
        for ((_, p), g) in params.iter().zip(step) {
            set_grad(p, g);
        }
        opt.step(params).unwrap();
    }
}

#[test]
fn adamw_equals_torch_and_resumes_bit_for_bit() {
    let ps = params();
    let grads: Vec<Vec<Tensor>> =
        (0..4).map(|k| ps.iter().map(|(_, p)| p.randn_like() * (k + 1) as f64).collect()).collect();
    let dir = tempdir();
    let mut tensors: Vec<(String, Tensor)> = ps.iter().map(|(n, p)| (format!("p.{n}"), p.detach().copy())).collect();
    for (k, step) in grads.iter().enumerate() {
        tensors.extend(ps.iter().zip(step).map(|((n, _), g)| (format!("g{k}.{n}"), g.copy())));
    }
    let input = dir.path().join("in.safetensors");
    Tensor::write_safetensors(&tensors, &input).unwrap();
    let torch_after = |steps: usize| {
        let out = dir.path().join(format!("out{steps}.safetensors"));
        let cfg = format!(
            r#"{{"lr":{},"betas":[{},{}],"eps":{},"weight_decay":{},"steps":{steps}}}"#,
            CFG.lr, CFG.betas.0, CFG.betas.1, CFG.eps, CFG.weight_decay
        );
        python("adamw_reference.py", &[input.to_str().unwrap(), out.to_str().unwrap(), &cfg]);
        Tensor::read_safetensors(&out).unwrap()
    };
    let max_diff = |ours: &[(String, Tensor)], theirs: &[(String, Tensor)]| {
        ours.iter()
            .map(|(n, p)| {
                let t = &theirs.iter().find(|(m, _)| m == &format!("p.{n}")).unwrap().1;
                (p - t).abs().max().double_value(&[])
            })
            .fold(0.0, f64::max)
    };

    let mut opt = AdamW::new(CFG).unwrap();
    run(&mut opt, &ps, &grads[..3]);
    let d3 = max_diff(&ps, &torch_after(3));
    eprintln!("after 3 steps: max |ours - torch.optim.AdamW| = {d3:.3e}");
    assert!(d3 < 1e-6, "AdamW differs from torch by {d3}");

    let state = dir.path().join("opt.safetensors");
    opt.save(&state).unwrap();
    let resumed: Vec<(String, Tensor)> =
        ps.iter().map(|(n, p)| (n.clone(), p.detach().copy().set_requires_grad(true))).collect();
    let mut opt2 = AdamW::new(CFG).unwrap();
    opt2.load(&state, &resumed).unwrap();
    assert_eq!(opt2.steps(), 3);
    run(&mut opt, &ps, &grads[3..]);
    run(&mut opt2, &resumed, &grads[3..]);
    for ((n, a), (_, b)) in ps.iter().zip(&resumed) {
        assert!(a.equal(b), "{n}: resumed 4th step differs from the uninterrupted one");
    }
    let d4 = max_diff(&ps, &torch_after(4));
    eprintln!("after 4 steps: max |ours - torch| = {d4:.3e}");
    assert!(d4 < 1e-6);
    // A state file that does not fit the parameters is refused.
    let wrong = vec![("w".to_string(), Tensor::zeros([3], (Kind::Float, Device::Cpu)).set_requires_grad(true))];
    assert!(AdamW::new(CFG).unwrap().load(&state, &wrong).is_err());
}

fn snapshot(policy: &Policy) -> Vec<(String, Tensor)> {
    trainable_params(policy.var_store()).into_iter().map(|(n, t)| (n, t.detach().copy())).collect()
}

#[test]
fn trainer_state_resumes_a_run_bit_for_bit() {
    let cfg = GrpoConfig { lr: 1e-3, kl_coef: 0.05, ..Default::default() };
    let dir = tempdir();
    let mut policy = load("qwen2");
    let mut trainer = Trainer::with_reference(&policy, &tiny("qwen2"), cfg.clone()).unwrap();
    let batch = tiny_batch(&policy);
    for _ in 0..2 {
        trainer.grpo_step(&mut policy, &batch).unwrap();
    }
    policy.save(&dir.path().join("ckpt"), DEFAULT_SHARD_BYTES).unwrap();
    trainer.save_state(&dir.path().join("ckpt")).unwrap();
    let third = trainer.grpo_step(&mut policy, &batch).unwrap();
    let want = snapshot(&policy);

    let mut resumed = Policy::load(&dir.path().join("ckpt"), Device::Cpu, Some(Kind::Float)).unwrap();
    let mut trainer2 = Trainer::with_reference(&resumed, &tiny("qwen2"), cfg).unwrap();
    trainer2.load_state(&resumed, &dir.path().join("ckpt")).unwrap();
    assert_eq!(trainer2.steps(), 2);
    let third2 = trainer2.grpo_step(&mut resumed, &batch).unwrap();
    assert_eq!(third, third2, "statistics of the resumed step");
    for ((n, a), (_, b)) in want.iter().zip(snapshot(&resumed)) {
        assert!(a.equal(&b), "{n}: resumed step differs");
    }
    assert!(trainer2.load_state(&resumed, &dir.path().join("nowhere")).is_err());
}
