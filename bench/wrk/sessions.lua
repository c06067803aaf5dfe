-- wrk script: every request carries one of N pre-created session cookies.
--
--   wrk -t T -c N -d 10s -s bench/wrk/sessions.lua http://127.0.0.1:PORT -- <cookie file> <path> <T>
--
-- The cookie file holds one Cookie header per line, one per connection
-- (N lines for -c N). Thread k (0-based) takes lines k, k+T, k+2T, ...,
-- which is as many cookies as wrk gives that thread connections (N / T).
--
-- How cookies map to connections, honestly: wrk's Lua API gives request()
-- no handle on the connection it is building a request for, so a fixed
-- cookie-per-connection binding is impossible. Each thread instead hands
-- its cookies out round-robin, one per request. Without pipelining each
-- connection has one request in flight, so every session gets the same
-- share of the load and the requests in flight carry (almost always)
-- distinct sessions; two connections can briefly carry the same cookie
-- when one of them is slow by a whole cycle of its thread's cookies.
-- The requests are built once in init(), so request() costs wrk one table
-- lookup and the load generator stays cheap.

local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function init(args)
   local file, path, nthreads = args[1], args[2], tonumber(args[3])
   local reqs, line = {}, 0
   for cookie in io.lines(file) do
      if cookie ~= "" then
         if line % nthreads == tid then
            reqs[#reqs + 1] = wrk.format("GET", path, { ["Cookie"] = cookie })
         end
         line = line + 1
      end
   end
   if #reqs == 0 then
      -- More threads than cookies: this thread reuses the first cookie.
      reqs[1] = wrk.format("GET", path)
   end
   requests_ = reqs
   count_ = #reqs
   next_ = 0
end

function request()
   next_ = next_ % count_ + 1
   return requests_[next_]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
      e.connect, e.read, e.write, e.status, e.timeout))
end
