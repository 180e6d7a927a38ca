-- wrk reporting hook for bench/run.py: print the run's summary as one JSON
-- line (prefixed, so it can be told apart from wrk's own text report).
-- Latencies are in microseconds, as wrk records them.
--
-- With WRK_COUNT_STATUSES set, the answers are also counted by status code
-- ("statuses"), so a run can tell a rate limit's 429 from a failure. wrk
-- parses every response for Lua then, which costs it some speed: only the
-- runs that need the counts ask for them.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

if os.getenv("WRK_COUNT_STATUSES") then
  statuses = {}
  response = function(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

local function status_counts()
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}, '
      .. '"statuses": %s}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    status_counts()
  ))
end
