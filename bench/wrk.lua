-- Load like production: many clients behind one trusted proxy (127.0.0.1), each
-- named in X-Forwarded-For from the 198.18.0.0/15 benchmarking range, so the
-- per-client rate limit (100/minute by default) never refuses a request.
-- Arguments after `--`: an address offset, then the paths to request in turn.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local paths = {}
local counter = 0
local base = 0

function init(args)
  base = tonumber(args[1]) + thread_index * 32768
  for i = 2, #args do
    paths[#paths + 1] = args[i]
  end
end

function request()
  counter = counter + 1
  local n = (base + counter) % 131072
  local ip = (18 + math.floor(n / 65536)) .. "." .. (math.floor(n / 256) % 256) .. "." .. (n % 256)
  local path = paths[(counter % #paths) + 1]
  return wrk.format("GET", path, { ["X-Forwarded-For"] = "198." .. ip })
end
