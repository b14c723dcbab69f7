"""Instructions per gate decision beside two raw Ed25519 verifications, counted by callgrind.

    python -m bench.instructions [--decisions N]

`bench.gate`'s ratio is a ratio of rates, and on a shared machine it moves with the neighbours:
the interpreter's scattered memory traffic suffers more from a busy cache than libsodium's
tight field arithmetic does, so the same code measures 0.65 on a busy hour and 0.75 on a quiet
one. Instruction counts do not move: valgrind's callgrind counts every instruction executed, the
same for the same interpreter, code and inputs whatever else the machine does. This benchmark
runs one workload four times under callgrind: set-up alone, set-up plus N gate decisions (the
in-process pipeline of `bench.gate`), set-up plus N `vc` verifications alone (its reference
line), set-up plus 2N raw PyNaCl verifications of presentations' two signing inputs
(`bench.floor`); differences divided by N give instructions per decision, per verification and
per raw pair. Decision minus raw pair is what the gate adds to the two signatures.

An instruction is not a time: libsodium retires more instructions per cycle than the
interpreter, so the instruction ratio is higher than the rate ratio. It is a regression figure:
when it moves, the code changed. Needs valgrind (Debian's package); the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WARMUP = 200
FLOOR_SIGNERS = 64
MODES = ("setup", "decide", "vc", "raw")
_TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def workload(mode: str, decisions: int) -> None:
    """What runs under callgrind: the same set-up in every mode, then the mode's loop."""
    from bench.floor import raw_verifier
    from bench.gate import Fixture, gate_policy, in_process_pipeline, vc_verify

    fixture = Fixture(holders=FLOOR_SIGNERS)  # as many issuer signatures as floor signers
    policy = gate_policy()
    pipeline = in_process_pipeline(fixture, policy)
    batch = fixture.presentations(WARMUP + decisions, policy.audience)
    now = time.time()
    for presentation in batch[:WARMUP]:
        if not pipeline.decide(presentation, now=now).allow:
            raise AssertionError("benchmark presentations must be allowed")
    # Ed25519 verification is variable-time in the signature's scalars: the floor cycles through
    # many keys and signatures, as the decisions do, so one unlucky signature does not set it
    floors = [raw_verifier(p) for p in batch[:FLOOR_SIGNERS]]
    if mode == "decide":
        for presentation in batch[WARMUP:]:
            pipeline.decide(presentation, now=now)
    elif mode == "vc":
        for presentation in batch[WARMUP:]:
            vc_verify(pipeline, presentation, now)
    elif mode == "raw":
        for i in range(2 * decisions):
            floors[(i >> 1) % FLOOR_SIGNERS](i)
    elif mode != "setup":
        raise ValueError(f"unknown mode {mode!r}")


def callgrind_total(out_file: Path) -> int:
    """The instruction total a callgrind output file records."""
    found = _TOTALS.search(out_file.read_text("utf-8", errors="replace"))
    if found is None:
        raise ValueError(f"{out_file} holds no callgrind totals")
    return int(found.group(1))


def count(mode: str, decisions: int, directory: Path) -> int:
    out_file = directory / f"callgrind.{mode}.out"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_file}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            mode,
            "--decisions",
            str(decisions),
        ],
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict probes in every run
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return callgrind_total(out_file)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1000, help="decisions per count")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.decisions < 1:
        parser.error("--decisions must be at least 1")
    if args.child:
        workload(args.child, args.decisions)
        return
    if shutil.which("valgrind") is None:
        sys.exit("bench.instructions needs valgrind (Debian package valgrind)")
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        totals = {mode: count(mode, args.decisions, Path(tmp)) for mode in MODES}
    per_decision = (totals["decide"] - totals["setup"]) / args.decisions
    per_raw_pair = (totals["raw"] - totals["setup"]) / args.decisions
    per_vc = (totals["vc"] - totals["setup"]) / args.decisions
    print(f"raw PyNaCl Ed25519 verify, 2 inputs : {per_raw_pair:>12,.0f} instructions")
    print(
        f"in-process gate decision            : {per_decision:>12,.0f} instructions   "
        f"ratio {per_raw_pair / per_decision:.3f} (callgrind, {args.decisions:,} each)"
    )
    added = per_decision - per_raw_pair
    print(f"  added to the two signatures       : {added:>12,.0f} instructions")
    print(
        f"  vc.verify_sd_jwt_vc alone (ref.)  : {per_vc:>12,.0f} instructions   "
        f"ratio {per_raw_pair / per_vc:.3f} (no replay/status/policy)"
    )
    print(
        json.dumps(
            {
                "instructions_per_decision": round(per_decision),
                "instructions_per_raw_pair": round(per_raw_pair),
                "instructions_added": round(added),
                "instruction_ratio": round(per_raw_pair / per_decision, 3),
                "vc_only_instruction_ratio": round(per_raw_pair / per_vc, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
