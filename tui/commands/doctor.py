"""`hftui doctor [--json]`: what this machine can do for training, in plain words: GPUs, PyTorch,
DeepSpeed, the extras and optional kernels installed, and what would break a first run here
(the Hub, a token, free disk).

Always exits 0: a machine without GPUs is an answer, not an error.
"""

from __future__ import annotations

import json
import sys

from hftui.core.i18n import _


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help=_("print the facts as JSON (for scripts and bug reports)"))
    parser.add_argument("--no-deepspeed", action="store_true", help=_("skip DeepSpeed's op report (it imports DeepSpeed, which takes a few seconds)"))
    parser.add_argument("--output-dir", default=".", metavar="DIR", help=_("the folder runs will write to, for the free-disk check (default: this folder)"))


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
    return _("[green]yes[/]") if value else _("[yellow]no[/]")


def render(report: dict, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = console or Console(highlight=False)
    out.print(_("[bold]hftui doctor[/] - {host}, Python {python}, {cpus} CPUs", host=escape(report["host"]), python=report["python"],
               cpus=report["cpu_count"]))
    for line in report["summary"]:
        out.print(f"  {escape(line)}")
    out.print()

    if report["gpus"]:
        table = Table(title="GPUs (NVML)", title_justify="left")
        for col in ("#", _("name"), _("memory"), _("compute capability"), "bf16"):
            table.add_column(col)
        for g in report["gpus"]:
            table.add_row(str(g["index"]), escape(g["name"]), f"{g['memory_gib']} GiB", str(g["compute_capability"] or "?"), _yes(g["bf16"]))
        out.print(table)
        out.print("  " + _("driver {driver}", driver=escape(str(report["driver"])))
                  + (f", CUDA_VISIBLE_DEVICES={escape(report['cuda_visible_devices'])}" if report["cuda_visible_devices"] is not None else ""))
    else:
        out.print(_("[bold]GPUs:[/] none found (no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them)"))
    out.print()

    t = report["torch"]
    table = Table(title="PyTorch", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    if t.get("available"):
        table.add_row(_("version"), escape(t["version"]))
        table.add_row(_("CUDA (built with)"), escape(str(t.get("cuda_built") or _("none: a CPU-only build"))))
        table.add_row(_("CUDA usable"), _yes(t.get("cuda_available")))
        table.add_row("NCCL", escape(str(t.get("nccl") or "-")))
        table.add_row("cuDNN", escape(str(t.get("cudnn") or "-")))
        table.add_row("bf16 / fp16 / tf32", " / ".join(_yes(t.get(k)) if t.get("cuda_available") else "[dim]-[/]" for k in ("bf16", "fp16", "tf32")))
        table.add_row(_("process groups"), ", ".join(n for n, k in (("nccl", "nccl_backend"), ("gloo", "gloo_backend")) if t.get(k)) or _("none"))
    else:
        table.add_row("torch", _("[red]not importable[/]: {error}", error=escape(str(t.get("error")))))
    out.print(table)
    out.print()

    ds = report["deepspeed"]
    if ds.get("available"):
        title = _("DeepSpeed {version} ops (accelerator {accelerator}, {backend})", version=escape(ds.get("version", "")),
                  accelerator=escape(ds.get("accelerator", "?")), backend=escape(ds.get("communication_backend", "?")))
        table = Table(title=title, title_justify="left")
        table.add_column(_("op"))
        table.add_column(_("installed"))
        table.add_column(_("compatible (can be JIT-compiled)"))
        for name, op in ds["ops"].items():
            table.add_row(escape(name), _yes(op["installed"]), _yes(op["compatible"]))
        out.print(table)
        if ds.get("ninja") is False:
            out.print("  " + _("[yellow]ninja is missing: ops that are not installed cannot be JIT-compiled[/]"))
    elif ds.get("available") is None:
        out.print(_("[bold]DeepSpeed:[/] skipped"))
    else:
        out.print(_("[bold]DeepSpeed:[/] not usable: {error}", error=escape(str(ds["error"] if "error" in ds else _("not installed")))))
    out.print()

    render_extras(report, out)
    render_ready(report["ready"], out)

    table = Table(title=_("Libraries"), title_justify="left", show_header=False)
    table.add_column("library")
    table.add_column("version")
    for name, version in report["versions"].items():
        table.add_row(escape(name), escape(version) if version else _("[yellow]not installed[/]"))
    out.print(table)
    out.print()

    auto = report["auto"]
    out.print(f"[bold]backend = \"auto\"[/] -> [bold]{escape(auto['backend'])}[/]: {escape(auto['backend_reason'])}")
    out.print("  " + _("[dim]rule of thumb: {rule}[/]", rule=escape(auto["rule"])))
    out.print(_("[bold]precision default[/] -> [bold]{precision}[/]: {reason}", precision=escape(auto["precision"]),
                reason=escape(auto["precision_reason"])))


def render_extras(report: dict, out) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=_("Extras and optional packages"), title_justify="left")
    for col in (_("package"), _("installed"), _("unlocks")):
        table.add_column(col)
    for name, extra in report["extras"].items():
        have = _("[green]yes[/]") if extra["installed"] else _("[yellow]no[/]: {install}", install=escape(extra["install"]))
        table.add_row(f"hftui\\[{escape(name)}]", have, escape(extra["unlocks"]))
    for name, pkg in report["optional"].items():
        table.add_row(escape(name), f"[green]{escape(pkg['version'])}[/]" if pkg["version"] else _("[dim]no[/]"), escape(pkg["unlocks"]))
    out.print(table)
    out.print()


def render_ready(ready: dict, out) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=_("Before a first run"), title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("state")
    hub = ready["hub"]
    if hub["offline"]:
        state = _("[yellow]offline[/]: {variable} is set", variable=escape(hub["offline"]))
    elif hub["reachable"]:
        state = _("[green]reachable[/] ({endpoint})", endpoint=escape(hub["endpoint"]))
    else:
        state = _("[red]out of reach[/] ({endpoint}: {error})", endpoint=escape(hub["endpoint"]), error=escape(str(hub["error"])))
    table.add_row("Hugging Face Hub", state)
    table.add_row(_("token"), _("[green]yes[/], from {source}", source=escape(ready["token"])) if ready["token"]
                  else _("[yellow]none[/] (gated models and pushing need one)"))
    for disk in ready["disks"]:
        if disk["free"] is None:
            state = _("[dim]unknown[/] ({error})", error=escape(str(disk["error"])))
        else:
            free, total = disk["free"] / (1 << 30), disk["total"] / (1 << 30)
            state = (_("[red]{free:.1f} GiB free[/] of {total:.0f} GiB", free=free, total=total) if disk["low"]
                     else _("[green]{free:.1f} GiB free[/] of {total:.0f} GiB", free=free, total=total))
        table.add_row(_("disk: {what}", what=escape(_(disk["what"]))), f"{state} - {escape(disk['path'])}")
    out.print(table)
    out.print()
