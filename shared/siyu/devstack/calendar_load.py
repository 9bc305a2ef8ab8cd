"""`siyu calendar load FILE`: official years, validated here, saved through the ops API."""

from __future__ import annotations

import json
from pathlib import Path

from siyu.devstack.procs import StackError
from siyu.devstack.stack import StackConfig
from siyu.domain.calendar import OfficialYear


def load_years(cfg: StackConfig, path: str) -> list[str]:
    raw = json.loads(Path(path).read_text())
    years = [OfficialYear.model_validate(y) for y in (raw if isinstance(raw, list) else [raw])]
    done = []
    with cfg.ops_client() as ops:
        for year in years:
            r = ops.put(f"/ops/calendar/{year.year}", json=year.model_dump(mode="json"))
            if r.status_code != 200:
                raise StackError(f"{year.year} refused: {r.status_code} {r.text}")
            done.append(
                f"{year.year}: {len(year.holidays)} holidays, "
                f"{len(year.working_days)} working days in lieu ({year.source})"
            )
    return done
