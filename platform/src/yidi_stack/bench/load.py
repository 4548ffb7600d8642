"""Load generation with wrk (a separate native process: a Python client cannot produce more than a
few hundred requests per second here). Requests are prepared in advance, so signed HIS calls with
unique nonces can be replayed at full speed."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

WRK_SCRIPT = r"""
local requests = {}
local counter = 0
local threads = {}
ok = 0
rules = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = io.open(args[1], "r")
  local all = {}
  for line in file:lines() do table.insert(all, line) end
  file:close()
  local nthreads = tonumber(args[2])
  for i = 1, #all do
    if (i - 1) % nthreads == id then
      local item = all[i]
      local sep = string.find(item, "\t", 1, true)
      local sep2 = string.find(item, "\t", sep + 1, true)
      local path = string.sub(item, 1, sep - 1)
      local headers_json = string.sub(item, sep + 1, sep2 - 1)
      local body = string.sub(item, sep2 + 1)
      local headers = {["Content-Type"] = "application/json"}
      for k, v in string.gmatch(headers_json, '"([^"]+)":"([^"]*)"') do headers[k] = v end
      table.insert(requests, wrk.format("POST", path, headers, body))
    end
  end
  index = 0
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end

-- Answers the platform accepted (a HIS answer is HTTP 200 either way; infcode says which).
-- Every other answer is tallied by the rule its err_msg ends with ("...（his.busy）"), by HTTP
-- status when it is not a 200, or as "no-envelope" when it carries no infcode.
function response(status, headers, body)
  if body and string.find(body, '"infcode"%s*:%s*0[^%d]') then ok = ok + 1; return end
  local rule
  if status ~= 200 then
    rule = "http." .. status
  elseif not body or not string.find(body, '"infcode"', 1, true) then
    rule = "no-envelope"
  else
    -- the last parenthesis holds the rule (the sentence may quote a field in one before it)
    for found in string.gmatch(body, "\239\188\136([%w%._%-]+)\239\188\137") do rule = found end
    for found in string.gmatch(body, "\\uff08([%w%._%-]+)\\uff09") do rule = found end
    rule = rule or "unnamed"
  end
  rules[rule] = (rules[rule] or 0) + 1
end

function done(summary, latency, requests)
  local accepted = 0
  local by_rule = {}
  for _, t in ipairs(threads) do
    accepted = accepted + (t:get("ok") or 0)
    for rule, n in pairs(t:get("rules") or {}) do by_rule[rule] = (by_rule[rule] or 0) + n end
  end
  local parts = {}
  for rule, n in pairs(by_rule) do table.insert(parts, string.format('"%s": %d', rule, n)) end
  io.write(string.format(
    '{"requests": %d, "ok": %d, "seconds": %.3f, "errors": %d, "status_errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "connect_errors": %d, "timeouts": %d, "rules": {%s}}\n',
    summary.requests, accepted, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.connect, summary.errors.timeout, table.concat(parts, ", ")))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    ok: int  # answers carrying "infcode": 0
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    refused_by_rule: dict[str, int] = field(default_factory=dict)
    """Answers other than infcode 0, by the rule their err_msg names (or http.<status>)."""
    connect_errors: int = 0
    timeouts: int = 0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is needed for load generation: apt-get install wrk")
    return found


def run_wrk(
    base_url: str,
    requests: list[tuple[str, dict[str, str], bytes]],
    *,
    concurrency: int,
    seconds: float,
    threads: int = 2,
) -> LoadResult:
    """Replay prepared (path, headers, body) requests; each request is sent at most once when the
    list is at least as long as the run needs (signed HIS calls must not repeat a nonce)."""
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "replay.lua"
        script.write_text(WRK_SCRIPT)
        data = Path(tmp) / "requests.tsv"
        with data.open("w") as out:
            for path, headers, body in requests:
                out.write(
                    f"{path}\t{json.dumps(headers, separators=(',', ':'))}\t{body.decode()}\n"
                )
        threads = min(threads, concurrency)
        done = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base_url,
                "--",
                str(data),
                str(threads),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    line = next((li for li in done.stdout.splitlines() if li.startswith("{")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
        )
    stats = json.loads(line)
    return LoadResult(
        requests=stats["requests"],
        ok=stats["ok"],
        seconds=stats["seconds"],
        errors=stats["errors"] + stats["status_errors"],
        p50_ms=stats["p50_us"] / 1000,
        p95_ms=stats["p95_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        refused_by_rule=dict(sorted(stats["rules"].items())),
        connect_errors=stats["connect_errors"],
        timeouts=stats["timeouts"],
    )
