"""`sciloom synth KIND INPUT... --out OUT --backend B --model M`: model-generated math data (a stage folder).

KIND is one of rft, rephrase, sv, fobar, augment, evol, opro (docs/synth.md). The flags cover the
backend and the common sampling settings; `--options FILE.toml` reads every other field of
`SynthConfig` from a table (the same keys as a recipe's `[sources.options]`).
"""

from __future__ import annotations

import argparse

from sciloom.corpus.cli.stage_args import add_stage_arguments, positive_int, stage_run

HELP = {
    "rft": "RFT: sample k reasoning paths, keep correct ones with distinct equations, calculations checked",
    "rephrase": "MetaMath rephrasing, kept when the model's answer to the rephrased question matches",
    "sv": "MetaMath self-verification: masked number, statement rewritten by the model, answer checked",
    "fobar": "FOBAR backward questions answered by the model and checked",
    "augment": "AugGSM8K query changes with answers voted over several temperatures",
    "evol": "WizardMath Evol-Instruct upward/downward, unanswerable or disagreeing ones dropped",
    "opro": "OPRO prompt optimisation on a dev split: trajectory, best prompt, records it solves",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate math data with a model: RFT, MetaMath, AugGSM8K, Evol, OPRO")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for kind, text in HELP.items():
        k = kinds.add_parser(kind, help=text)
        add_stage_arguments(k)
        k.add_argument("--backend", choices=("openai", "hf", "vllm"), default="openai")
        k.add_argument("--model", required=True, help="model name (openai) or checkpoint folder (hf, vllm)")
        k.add_argument("--base-url", default=None, help="openai: API root (default http://127.0.0.1:8000/v1)")
        k.add_argument("--api", choices=("completions", "chat"), default=None, help="openai: which endpoint")
        k.add_argument("--api-key-env", default=None, help="openai: environment variable holding the key")
        k.add_argument("--concurrency", type=positive_int, default=None, help="openai: requests in flight")
        k.add_argument("--request-timeout", type=float, default=None, help="openai: seconds per request")
        k.add_argument("--retries", type=int, default=None, help="openai: retries per request")
        k.add_argument("--cache-dir", default=None, help="request cache (default OUT/cache)")
        k.add_argument(
            "--samples", type=positive_int, default=None, help="samples per problem (kind-specific)"
        )
        k.add_argument("--temperature", type=float, default=None, help="sampling temperature (default 0.7)")
        k.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass (default 1.0)")
        k.add_argument(
            "--max-tokens", type=positive_int, default=None, help="tokens per completion (default 512)"
        )
        k.add_argument("--layout", default=None, help="problem layout: gsm8k, math or auto (default)")
        k.add_argument(
            "--unsafe-no-sandbox",
            action="store_true",
            help="rft: without an OS sandbox, check calculations with Python-level guards only",
        )
        k.add_argument(
            "--options", default=None, help="TOML file with SynthConfig fields (as [sources.options])"
        )
        k.add_argument(
            "--source", default=None, help="source name recorded in each document (default synth_KIND)"
        )
        k.set_defaults(func=run)


def build_config(args: argparse.Namespace):
    """SynthConfig from `--options` and the flags (flags win)."""
    import tomllib

    from sciloom.corpus.errors import UsageError
    from sciloom.corpus.strict_config import config_from_dict
    from sciloom.corpus.synth.config import SynthConfig

    table: dict = {}
    if args.options:
        try:
            with open(args.options, "rb") as fh:
                table = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise UsageError(f"--options {args.options}: {err}") from err
    backend = dict(table.pop("backend", {}) or {})
    backend["name"] = args.backend
    backend["model"] = args.model
    for flag, key in (
        ("base_url", "base_url"),
        ("api", "api"),
        ("api_key_env", "api_key_env"),
        ("concurrency", "concurrency"),
        ("request_timeout", "timeout_s"),
        ("retries", "max_retries"),
        ("cache_dir", "cache_dir"),
    ):
        if getattr(args, flag) is not None:
            backend[key] = getattr(args, flag)
    if args.unsafe_no_sandbox:
        table["unsafe_no_sandbox"] = True
    for flag in ("samples", "temperature", "top_p", "max_tokens", "layout"):
        if getattr(args, flag) is not None:
            table[flag] = getattr(args, flag)
    table["backend"] = backend
    return config_from_dict(SynthConfig, table, "synth")


def run(args: argparse.Namespace) -> int:
    from sciloom.corpus.cli.prompts import _summary
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.corpus.prompts.problems import is_problem_file
    from sciloom.corpus.synth.stage import run_synth_stage

    config = build_config(args)
    files = resolve_inputs(args.inputs, accept=is_problem_file)
    manifest = run_synth_stage(
        args.kind, files, config, stage_run(args, f"synth_{args.kind}"), source=args.source
    )
    _summary(manifest)
    opro = manifest.extra.get("opro")
    if opro and opro.get("best"):
        best = opro["best"]
        print(f"  best instruction (score {best['score']}): {best['instruction']}")
    return 0
