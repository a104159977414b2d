-- wrk script of `make bench` (bench/run.py starts wrk with it; not meant to be run by hand).
--
--   wrk -t1 -c16 -d10s --timeout 30s -s bench/load.lua http://127.0.0.1:8500 -- \
--       command <token> <ids file> <slug> <threads>
--   wrk ... -- intake <token> <skus file> <channel> <items> <order number prefix> <threads>
--
-- "command": each request runs the command <slug> on the next package id of <ids file> (one id a
-- line; thread n of <threads> takes lines n, n + threads, ...): every request is a different
-- package. A thread that runs out of ids stops and reports it (the rate is then a lower bound).
-- "intake": each request posts a new order (unique number) of <items> distinct SKUs drawn from
-- <skus file>, one unit each.
-- done() prints one line "BENCHJSON {...}": requests, duration, latency percentiles (µs), socket
-- errors and the HTTP statuses with a few error bodies.

local threads = {}

function setup(thread)
  thread:set("idx", #threads)
  table.insert(threads, thread)
end

local function read_lines(path, idx, nthreads)
  local out, n = {}, 0
  for line in io.lines(path) do
    if line ~= "" then
      if n % nthreads == idx then out[#out + 1] = line end
      n = n + 1
    end
  end
  return out
end

function init(args)
  mode = args[1]
  local token = args[2]
  headers = {["Authorization"] = "Token " .. token, ["Content-Type"] = "application/json"}
  statuses, samples, exhausted, pos = {}, {}, 0, 0
  if mode == "command" then
    ids = read_lines(args[3], idx, tonumber(args[5]))
    body = '{"slug": "' .. args[4] .. '", "input_parameters": {}}'
  else
    skus = read_lines(args[3], 0, 1)
    channel, items, prefix = args[4], tonumber(args[5]), args[6] .. "-" .. idx .. "-"
    math.randomseed(1000 + idx)
  end
end

function request()
  pos = pos + 1
  if mode == "command" then
    local id = ids[pos]
    if id == nil then
      exhausted = 1
      wrk.thread:stop()
      return wrk.format("GET", "/api/v1/oms/health/")
    end
    return wrk.format("POST", "/api/v1/oms/packages/" .. id .. "/command/", headers, body)
  end
  local chosen, lines = {}, {}
  while #lines < items do
    local sku = skus[math.random(#skus)]
    if not chosen[sku] then
      chosen[sku] = true
      lines[#lines + 1] = '{"sku": "' .. sku .. '", "quantity": 1, "price": "10.00"}'
    end
  end
  local order = '{"number": "' .. prefix .. pos .. '", "channel": "' .. channel .. '", "items": ['
      .. table.concat(lines, ", ") .. ']}'
  return wrk.format("POST", "/api/v1/oms/orders/", headers, order)
end

function response(status, hdrs, resp_body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 300 and #samples < 3 then
    samples[#samples + 1] = status .. " " .. string.sub(resp_body or "", 1, 300)
  end
end

local function quote(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local codes, errs, exhausted_threads = {}, {}, 0
  local totals = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses") or {}) do totals[code] = (totals[code] or 0) + n end
    for _, s in ipairs(t:get("samples") or {}) do
      if #errs < 5 then errs[#errs + 1] = quote(s) end
    end
    exhausted_threads = exhausted_threads + (t:get("exhausted") or 0)
  end
  for code, n in pairs(totals) do codes[#codes + 1] = '"' .. code .. '": ' .. n end
  local p = {}
  for _, q in ipairs({50, 90, 95, 99, 99.9}) do
    p[#p + 1] = '"' .. q .. '": ' .. latency:percentile(q)
  end
  local e = summary.errors
  io.write("BENCHJSON {",
    '"requests": ', summary.requests, ', "duration_us": ', summary.duration,
    ', "latency_us": {', table.concat(p, ", "), ', "max": ', latency.max, ', "mean": ', latency.mean, '}',
    ', "errors": {"connect": ', e.connect, ', "read": ', e.read, ', "write": ', e.write,
    ', "status": ', e.status, ', "timeout": ', e.timeout, '}',
    ', "statuses": {', table.concat(codes, ", "), '}',
    ', "samples": [', table.concat(errs, ", "), ']',
    ', "exhausted_threads": ', exhausted_threads, '}\n')
end
