"""Reading a 1,000,000-row CSV into the engine: ``read_table`` + validation vs plain ``pandas.read_csv``.

Ours is what ``commonfactors pool big.csv`` does before fitting: ``io.read_table(path)`` (sniffing,
line numbers, the checks that keep its values and errors equal to the light reader's) and then
``_checks.effect_data(df, yi="yi", vi="vi")`` (numeric, finite, vi > 0, missing rows). The peer is
``pandas.read_csv(path)`` alone, on the same file, timed alternately with ours. Target: ours within
1.5x of the peer's time (a speedup >= 1/1.5), with the same numbers.

Two files: plain numbers, as most programs write them, and every field quoted, as R's ``write.csv``
writes study labels (with a label column, so the quoted path of read_table is taken).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from _harness import Record, interleaved

N = 1_000_000
SEED = 20261123


def write_files(folder: Path, n: int = N, seed: int = SEED) -> dict[str, Path]:
    """yi ~ N(0.3, 0.4^2), vi ~ U(0.01, 0.2), written with 17 significant digits (repr)."""
    rng = np.random.default_rng(seed)
    yi, vi = rng.normal(0.3, 0.4, n).tolist(), rng.uniform(0.01, 0.2, n).tolist()
    plain = folder / "plain.csv"
    plain.write_text("yi,vi\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(yi, vi, strict=True)))
    quoted = folder / "quoted.csv"
    quoted.write_text('"study","yi","vi"\n'
                      + "".join(f'"S{i}",{a!r},{b!r}\n' for i, (a, b) in enumerate(zip(yi, vi, strict=True))))
    return {"plain": plain, "quoted": quoted}


def run() -> list[Record]:
    import pandas as pd

    from commonfactors import _checks, io

    records = []
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp))
        for kind, path in files.items():
            rec = Record(name=f"read CSV into the engine, {N:,} rows ({kind})", peer_name="pandas.read_csv",
                         target=1 / 1.5)

            def ours(path=path):
                return _checks.effect_data(io.read_table(path), yi="yi", vi="vi")

            def peer(path=path):
                return pd.read_csv(path)

            data, frame = ours(), peer()  # warm the page cache and the imports; check the numbers
            same = (np.array_equal(data.yi, frame["yi"].to_numpy())
                    and np.array_equal(data.vi, frame["vi"].to_numpy())
                    and data.rows[0] == 2 and data.rows[-1] == N + 1)
            rec.checks_ok = bool(same)
            rec.ours, rec.peer = interleaved(ours, peer, repeat=5)
            size = path.stat().st_size / 1e6
            rec.notes.append(f"{size:.0f} MB; values identical to pandas': {same}; "
                             f"ours = read_table + _checks.effect_data (validation included)")
            records.append(rec)
    return records


if __name__ == "__main__":
    from _harness import table

    print(table(run()))
