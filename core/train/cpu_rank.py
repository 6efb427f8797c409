"""The entry point of one CPU-only FSDP or DeepSpeed rank: the worker, after the adjustments
such a rank needs (`python -m hftui.core.train.cpu_rank RUN_DIR`, started by torchrun).

GPU runs never come through here: they start `hftui.core.train.worker` directly.
"""

from __future__ import annotations

import functools
import os
import sys

# -- FSDP on a CPU-only machine ----------------------------------------------------------------
def keep_fsdp_on_cpu() -> None:
    """Let accelerate shard with FSDP on gloo/CPU, for the CPU smoke test of an FSDP preset.

    accelerate decides "several CPU processes" before it looks at the FSDP plugin, and then
    drops the plugin: the run would silently be plain DDP. FSDP2 itself works on CPU tensors
    over gloo, so after the Accelerator is built we put the plugin back and mark the state as
    FSDP; `accelerator.prepare` then applies `fully_shard` with the transformer auto-wrap.
    """
    import accelerate
    from accelerate.state import PartialState
    from accelerate.utils import DistributedType

    original = accelerate.Accelerator.__init__
    if getattr(original, "_hftui_cpu_fsdp", False):
        return

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        plugin = kwargs.get("fsdp_plugin")
        state = self.state
        if plugin is not None and state.distributed_type == DistributedType.MULTI_CPU:
            # AcceleratorState re-reads PartialState's shared fields whenever it is built
            # again, so both must say FSDP.
            PartialState._shared_state["distributed_type"] = DistributedType.FSDP
            state.distributed_type = DistributedType.FSDP
            state.fsdp_plugin = plugin

    original_state_dict = accelerate.Accelerator.get_state_dict

    @functools.wraps(original_state_dict)
    def get_state_dict(self, model, unwrap=True):
        # On CPU, torch's full-state-dict helper hands back views of the gathered parameters
        # that FSDP frees when it reshards; gather each one into a tensor of its own instead.
        from torch.distributed.fsdp import FSDPModule
        from torch.distributed.tensor import DTensor

        if not isinstance(model, FSDPModule) or self.device.type != "cpu":
            return original_state_dict(self, model, unwrap=unwrap)

        full = {}
        for key, value in model.state_dict().items():
            if isinstance(value, DTensor):
                value = value.full_tensor()
            full[key] = value.detach().clone()
        return full

    original_prepare = accelerate.Accelerator.prepare

    @functools.wraps(original_prepare)
    def prepare(self, *args, **kwargs):
        prepared = original_prepare(self, *args, **kwargs)
        from torch.distributed.fsdp import FSDPModule

        for obj in prepared if isinstance(prepared, (tuple, list)) else (prepared,):
            if isinstance(obj, FSDPModule):
                inner = [m for m in obj.modules() if isinstance(m, FSDPModule) and m is not obj]
                names = ", ".join(sorted({type(m).__name__.removeprefix("FSDP") for m in inner}))
                print(f"hftui: rank {self.process_index}: FSDP full shard of {type(obj).__name__.removeprefix('FSDP')} "
                      f"on the CPU, {len(inner)} modules wrapped on their own ({names})", flush=True)
        return prepared

    __init__._hftui_cpu_fsdp = True  # type: ignore[attr-defined]
    accelerate.Accelerator.__init__ = __init__
    accelerate.Accelerator.get_state_dict = get_state_dict
    accelerate.Accelerator.prepare = prepare


def skip_deepspeed_jit_ops() -> None:
    """Keep DeepSpeed from compiling its shared-memory all-reduce op on CPU (a minute of C++
    build on first use, and a compiler the machine may not have); gloo does the same job."""
    import deepspeed.ops

    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False


def prepare_cpu_process() -> None:
    """Adjustments a CPU-only FSDP or DeepSpeed rank needs before the worker builds its Trainer."""
    if os.environ.get("DS_ACCELERATOR") == "cpu":
        skip_deepspeed_jit_ops()
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            # Without CUDA, accelerate leaves the process group to DeepSpeed, which opens it only
            # in deepspeed.initialize; ZeRO-3 builds the model (zero.Init) before that and would
            # see a world of one. Open it now, over gloo.
            import deepspeed

            deepspeed.init_distributed(dist_backend="gloo")
    keep_fsdp_on_cpu()


def main(argv: list[str]) -> int:
    if argv:
        from hftui.core.run.liveness import die_with_launcher

        die_with_launcher(os.path.abspath(argv[0]))  # before the slow preparations, not after
    prepare_cpu_process()
    from hftui.core.train import worker

    return worker.main(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
