-- wrk script for benchmarks/hook_load.py: POST the body in BODY_FILE, a fresh hookInstance per
-- call where the file says [<id>], and print one JSON line of results at the end. Without
-- BODY_FILE: GET the URL as FHIR JSON (HAPI's own time for one search).
--
--   BODY_FILE=body.json wrk -t1 -c16 -d20s -s closed-loop.lua http://127.0.0.1:8080/cds-services/x

local path = os.getenv("BODY_FILE")
local template, head, tail
if path then
  local file = assert(io.open(path, "rb"), "BODY_FILE: cannot open " .. path)
  template = file:read("*a")
  file:close()
  head, tail = template:match("^(.-)%[<id>%](.*)$")
else
  wrk.headers["Accept"] = "application/fhir+json"
end
local headers = { ["Content-Type"] = "application/json" }

local function fresh_id()
  return string.format(
    "%08x-%04x-4%03x-%04x-%04x%08x",
    math.random(0, 0x7fffffff),
    math.random(0, 0xffff),
    math.random(0, 0xfff),
    math.random(0x8000, 0xbfff),
    math.random(0, 0xffff),
    math.random(0, 0x7fffffff)
  )
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

if template then
  function request()
    local body = head and (head .. fresh_id() .. tail) or template
    return wrk.format("POST", nil, headers, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  -- Latencies in microseconds from wrk; written in milliseconds.
  io.write(string.format(
    '{"tool":"wrk","duration_s":%.3f,"completed":%d,"p50_ms":%.3f,"p90_ms":%.3f,'
      .. '"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"non2xx":%d,"connect_errors":%d,'
      .. '"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.duration / 1e6, summary.requests,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
    e.status, e.connect, e.read, e.write, e.timeout
  ))
end
