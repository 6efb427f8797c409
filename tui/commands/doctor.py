"""`hftui doctor [--json]`: what this machine can do for training, in plain words: GPUs, PyTorch,
DeepSpeed, the extras and optional kernels installed, and what would break a first run here
(the Hub, a token, free disk).

Always exits 0: a machine without GPUs is an answer, not an error.
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the facts as JSON (for scripts and bug reports)")
    parser.add_argument("--no-deepspeed", action="store_true", help="skip DeepSpeed's op report (it imports DeepSpeed, which takes a few seconds)")
    parser.add_argument("--output-dir", default=".", metavar="DIR", help="the folder runs will write to, for the free-disk check (default: this folder)")


def main(args) -> int:
    from hftui.core import doctor

    report = doctor.collect(deepspeed=not args.no_deepspeed, output_dir=args.output_dir)
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    render(report)
    return 0


def _yes(value) -> str:
    if value is None:
        return "[dim]-[/]"
    return "[green]yes[/]" if value else "[yellow]no[/]"


def render(report: dict, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = console or Console(highlight=False)
    out.print(f"[bold]hftui doctor[/] - {escape(report['host'])}, Python {report['python']}, {report['cpu_count']} CPUs")
    for line in report["summary"]:
        out.print(f"  {escape(line)}")
    out.print()

    if report["gpus"]:
        table = Table(title="GPUs (NVML)", title_justify="left")
        for col in ("#", "name", "memory", "compute capability", "bf16"):
            table.add_column(col)
        for g in report["gpus"]:
            table.add_row(str(g["index"]), escape(g["name"]), f"{g['memory_gib']} GiB", str(g["compute_capability"] or "?"), _yes(g["bf16"]))
        out.print(table)
        out.print(f"  driver {escape(str(report['driver']))}" + (f", CUDA_VISIBLE_DEVICES={escape(report['cuda_visible_devices'])}" if report["cuda_visible_devices"] is not None else ""))
    else:
        out.print("[bold]GPUs:[/] none found (no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them)")
    out.print()

    t = report["torch"]
    table = Table(title="PyTorch", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    if t.get("available"):
        table.add_row("version", escape(t["version"]))
        table.add_row("CUDA (built with)", escape(str(t.get("cuda_built") or "none: a CPU-only build")))
        table.add_row("CUDA usable", _yes(t.get("cuda_available")))
        table.add_row("NCCL", escape(str(t.get("nccl") or "-")))
        table.add_row("cuDNN", escape(str(t.get("cudnn") or "-")))
        table.add_row("bf16 / fp16 / tf32", " / ".join(_yes(t.get(k)) if t.get("cuda_available") else "[dim]-[/]" for k in ("bf16", "fp16", "tf32")))
        table.add_row("process groups", ", ".join(n for n, k in (("nccl", "nccl_backend"), ("gloo", "gloo_backend")) if t.get(k)) or "none")
    else:
        table.add_row("torch", f"[red]not importable[/]: {escape(str(t.get('error')))}")
    out.print(table)
    out.print()

    ds = report["deepspeed"]
    if ds.get("available"):
        table = Table(title=f"DeepSpeed {escape(ds.get('version', ''))} ops (accelerator {escape(ds.get('accelerator', '?'))}, {escape(ds.get('communication_backend', '?'))})", title_justify="left")
        table.add_column("op")
        table.add_column("installed")
        table.add_column("compatible (can be JIT-compiled)")
        for name, op in ds["ops"].items():
            table.add_row(escape(name), _yes(op["installed"]), _yes(op["compatible"]))
        out.print(table)
        if ds.get("ninja") is False:
            out.print("  [yellow]ninja is missing: ops that are not installed cannot be JIT-compiled[/]")
    elif ds.get("available") is None:
        out.print("[bold]DeepSpeed:[/] skipped")
    else:
        out.print(f"[bold]DeepSpeed:[/] not usable: {escape(str(ds.get('error', 'not installed')))}")
    out.print()

    render_extras(report, out)
    render_ready(report["ready"], out)

    table = Table(title="Libraries", title_justify="left", show_header=False)
    table.add_column("library")
    table.add_column("version")
    for name, version in report["versions"].items():
        table.add_row(escape(name), escape(version) if version else "[yellow]not installed[/]")
    out.print(table)
    out.print()

    auto = report["auto"]
    out.print(f"[bold]backend = \"auto\"[/] -> [bold]{escape(auto['backend'])}[/]: {escape(auto['backend_reason'])}")
    out.print(f"  [dim]rule of thumb: {escape(auto['rule'])}[/]")
    out.print(f"[bold]precision default[/] -> [bold]{escape(auto['precision'])}[/]: {escape(auto['precision_reason'])}")


def render_extras(report: dict, out) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Extras and optional packages", title_justify="left")
    for col in ("package", "installed", "unlocks"):
        table.add_column(col)
    for name, extra in report["extras"].items():
        have = "[green]yes[/]" if extra["installed"] else f"[yellow]no[/]: {escape(extra['install'])}"
        table.add_row(f"hftui\\[{escape(name)}]", have, escape(extra["unlocks"]))
    for name, pkg in report["optional"].items():
        table.add_row(escape(name), f"[green]{escape(pkg['version'])}[/]" if pkg["version"] else "[dim]no[/]", escape(pkg["unlocks"]))
    out.print(table)
    out.print()


def render_ready(ready: dict, out) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Before a first run", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("state")
    hub = ready["hub"]
    if hub["offline"]:
        state = f"[yellow]offline[/]: {escape(hub['offline'])} is set"
    elif hub["reachable"]:
        state = f"[green]reachable[/] ({escape(hub['endpoint'])})"
    else:
        state = f"[red]out of reach[/] ({escape(hub['endpoint'])}: {escape(str(hub['error']))})"
    table.add_row("Hugging Face Hub", state)
    table.add_row("token", f"[green]yes[/], from {escape(ready['token'])}" if ready["token"] else "[yellow]none[/] (gated models and pushing need one)")
    for disk in ready["disks"]:
        if disk["free"] is None:
            state = f"[dim]unknown[/] ({escape(str(disk['error']))})"
        else:
            state = f"{'[red]' if disk['low'] else '[green]'}{disk['free'] / (1 << 30):.1f} GiB free[/] of {disk['total'] / (1 << 30):.0f} GiB"
        table.add_row(f"disk: {escape(disk['what'])}", f"{state} - {escape(disk['path'])}")
    out.print(table)
    out.print()
