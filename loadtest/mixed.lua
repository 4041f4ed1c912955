-- wrk script of the mixed load (loadtest/run.py): every connection sends the
-- requests listed in the file given after "--", one per line as
-- "<path>\t<cookie>" (cookie may be empty), in turn from a different starting
-- line per thread, so that the mix of the file (pages, listings, search,
-- signed-in pages) is the mix of the load. At the end it prints the latency
-- percentiles (ms), the responses that were not 2xx or 3xx and the socket
-- errors as one line of JSON for run.py to read.

local lines = {}
local position = 0

function init(args)
  for line in io.lines(args[1]) do
    local path, cookie = line:match("^([^\t]*)\t?(.*)$")
    if path ~= "" then
      table.insert(lines, { path = path, cookie = cookie })
    end
  end
  -- Spread the threads over the list.
  position = math.random(#lines) - 1
end

function request()
  position = position % #lines + 1
  local entry = lines[position]
  local headers = {}
  if entry.cookie ~= "" then
    headers["Cookie"] = entry.cookie
  end
  return wrk.format("GET", entry.path, headers)
end

function done(summary, latency, requests)
  local p = {}
  for _, q in ipairs({ 50, 90, 95, 99 }) do
    table.insert(p, string.format('"p%d": %.1f', q, latency:percentile(q) / 1000))
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.1f, "non_2xx_3xx": %d, "socket_errors": %d, %s}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(p, ", ")
  ))
end
