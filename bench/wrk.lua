-- wrk script of `python -m bench`: random targets from a generated list.
--
--   wrk -s bench/wrk.lua URL -- MODE TARGETS TOKEN THREADS [RUN]
--
-- MODE is one of
--   patch-gateway  PATCH /api/v1/ai-sessions/{s}/suggested-fixes/{f}/script
--   patch-bare     PATCH /bare/{s}/{f}/script (the bare chain)
--   inline         POST  /api/v1/script-builder/sessions (an existing pilot_inline session)
--   get            GET   /api/v1/ai-sessions/{s}/suggested-fixes/{f}
-- TARGETS is a file of "session_id fix_id" lines. Each wrk thread owns every
-- THREADS-th target, so one fix's PATCHes come from one thread, which
-- alternates two scripts per fix: a PATCH is never a no-op (the same script
-- twice writes nothing, and the benchmark measures writes). RUN (optional,
-- the time by default) tags both scripts, so a run's first PATCH of a fix
-- differs from whatever the run before left: without it, every run began
-- with the first script, which half the fixes already had.
--
-- Every request's status is counted; done() prints one line the benchmark
-- parses (bench/wrk.py): "flowpilot-wrk key=value ...".

local SCRIPTS = {
  '{"ai_drafted_script":"Restart-Service -Name Spooler -Force # run %s"}',
  '{"ai_drafted_script":"Restart-Service -Name Spooler -Force -PassThru # run %s"}',
}
local run_tag = ""

local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local requests = {}   -- requests[i] = {prebuilt request, ...}, alternated per target
local turns = {}      -- turns[i] = index of the next request of target i
local count = 0
non2xx = 0
statuses = ""

local function build(mode, token, session_id, fix_id)
  local headers = {
    ["authorization"] = "Bearer " .. token,
    ["content-type"] = "application/json",
  }
  if mode == "patch-gateway" or mode == "patch-bare" then
    local path
    if mode == "patch-gateway" then
      path = "/api/v1/ai-sessions/" .. session_id .. "/suggested-fixes/" .. fix_id .. "/script"
    else
      path = "/bare/" .. session_id .. "/" .. fix_id .. "/script"
    end
    return {
      wrk.format("PATCH", path, headers, string.format(SCRIPTS[1], run_tag)),
      wrk.format("PATCH", path, headers, string.format(SCRIPTS[2], run_tag)),
    }
  elseif mode == "inline" then
    local body = '{"origin":"pilot_inline","ai_session_id":"' .. session_id .. '"}'
    return { wrk.format("POST", "/api/v1/script-builder/sessions", headers, body) }
  elseif mode == "get" then
    headers["content-type"] = nil
    local path = "/api/v1/ai-sessions/" .. session_id .. "/suggested-fixes/" .. fix_id
    return { wrk.format("GET", path, headers) }
  end
  error("unknown mode " .. tostring(mode))
end

function init(args)
  local mode, targets, token, thread_count = args[1], args[2], args[3], tonumber(args[4])
  run_tag = args[5] or tostring(os.time())
  local line_number = 0
  for line in io.lines(targets) do
    if line_number % thread_count == thread_index then
      local session_id, fix_id = line:match("^(%S+)%s+(%S+)$")
      count = count + 1
      requests[count] = build(mode, token, session_id, fix_id)
      turns[count] = 1
    end
    line_number = line_number + 1
  end
  if count == 0 then
    error("no targets for thread " .. thread_index .. " in " .. targets)
  end
  math.randomseed(os.time() * 1000 + thread_index)
end

function request()
  local i = math.random(count)
  local choices = requests[i]
  local turn = turns[i]
  turns[i] = turn % #choices + 1
  return choices[turn]
end

local seen = {}

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    seen[status] = (seen[status] or 0) + 1
    local parts = {}
    for code, n in pairs(seen) do
      table.insert(parts, code .. ":" .. n)
    end
    statuses = table.concat(parts, ",")
  end
end

function done(summary, latency, requests)
  local bad = 0
  local codes = {}
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    local seen_here = thread:get("statuses") or ""
    if seen_here ~= "" then
      table.insert(codes, seen_here)
    end
  end
  local e = summary.errors
  io.write(string.format(
    "flowpilot-wrk requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d statuses=%s\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    bad, e.connect, e.read, e.write, e.timeout,
    (#codes > 0) and table.concat(codes, ",") or "-"
  ))
end
