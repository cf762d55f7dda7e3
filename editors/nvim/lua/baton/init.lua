-- Baton Context Bridge client for Neovim (0.7+): pushes file.opened/closed/changed (with a diff),
-- selection.changed and diagnostics.updated to `baton bridge` over HTTP (POST /events).
-- Events are queued and sent in order, in batches, one request at a time.
local M = {}
local uv = vim.loop

local state = {
  host = nil, port = nil, token = nil,
  queue = {}, in_flight = false, -- the queue holds events already encoded as JSON
  saved = {},        -- buffer -> text as last read or written, for diffs
  languages = {},    -- buffer -> the filetype it was reported opened with
  sent = 0, errors = 0, last_error = nil,
  selection_timer = nil,
  debounce_ms = 150,
}

local severities = { 'error', 'warning', 'info', 'hint' }

local function read_file(path)
  local f = io.open(path, 'r')
  if not f then return nil end
  local text = f:read('*a')
  f:close()
  return text
end

local function buffer_path(buf)
  if not vim.api.nvim_buf_is_valid(buf) or vim.bo[buf].buftype ~= '' then return nil end
  local name = vim.api.nvim_buf_get_name(buf)
  if name == '' then return nil end
  return vim.fn.fnamemodify(name, ':p')
end

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n') .. '\n'
end

local function report(message)
  state.errors = state.errors + 1
  state.last_error = message
  vim.schedule(function() vim.notify('baton bridge: ' .. message, vim.log.levels.WARN) end)
end

-- One HTTP/1.0 request over libuv TCP: no curl needed, and (1.0) an answer read to the end, never
-- chunked. `done(status, body)` runs on the main loop; status is nil when the bridge is unreachable.
local function post(body, done)
  done = vim.schedule_wrap(done)
  local tcp = uv.new_tcp()
  tcp:connect(state.host, state.port, function(err)
    if err then
      tcp:close()
      return done(nil, 'cannot reach ' .. state.host .. ':' .. state.port .. ' (' .. err .. '); is `baton bridge` running?')
    end
    local chunks = {}
    tcp:read_start(function(read_err, chunk)
      if read_err or not chunk then
        tcp:close()
        local response = table.concat(chunks)
        return done(response:match('^HTTP/1%.%d (%d+)'), response:match('\r\n\r\n(.*)$') or read_err or '')
      end
      table.insert(chunks, chunk)
    end)
    tcp:write(table.concat({
      'POST /events HTTP/1.0',
      'Host: ' .. state.host .. ':' .. state.port,
      'Authorization: Bearer ' .. state.token,
      'Content-Type: application/json',
      'Content-Length: ' .. #body,
      '',
      body,
    }, '\r\n'))
  end)
end

-- The bridge's limits on one POST /events: 1000 events and 1 MiB of body.
local MAX_BATCH_EVENTS, MAX_BATCH_BYTES = 1000, 1024 * 1024

-- Takes off the queue (of encoded events) as many as fit in one request. An event too large to be
-- sent alone is dropped here: the bridge would refuse it.
local function take_batch()
  local batch, bytes = {}, 2 -- the list's brackets
  while #batch < MAX_BATCH_EVENTS and #state.queue > 0 do
    local size = #state.queue[1] + (#batch > 0 and 1 or 0)
    if bytes + size <= MAX_BATCH_BYTES then
      table.insert(batch, table.remove(state.queue, 1))
      bytes = bytes + size
    elseif #batch == 0 then
      report('dropped an event of ' .. size .. ' bytes: over the bridge\'s ' .. MAX_BATCH_BYTES .. '-byte limit')
      table.remove(state.queue, 1)
    else
      break
    end
  end
  return batch
end

-- The 0-based positions a 400 names ("[1].text: Too big…; [3].path: …"): the events it refused.
local function refused_positions(body, count)
  local ok, answer = pcall(vim.json.decode, body)
  local message = ok and type(answer) == 'table' and type(answer.error) == 'table' and answer.error.message or body
  local positions = {}
  for position in ('; ' .. tostring(message)):gmatch('; %[(%d+)%]') do
    local index = tonumber(position) + 1
    if index <= count then positions[index] = true end
  end
  return positions, tostring(message)
end

-- After a 400 the bridge published nothing of the batch: the events it did not name go back to the
-- front of the queue, in order, so one bad event does not take the others with it.
local function requeue_all_but_refused(batch, body)
  local refused, message = refused_positions(body, #batch)
  if next(refused) == nil then return report('the bridge answered 400: ' .. message) end
  for i = #batch, 1, -1 do
    if not refused[i] then table.insert(state.queue, 1, batch[i]) end
  end
  report('the bridge refused an event (the rest are resent): ' .. message)
end

-- Sends what is queued (batches within the bridge's limits), then what queued meanwhile.
local function flush()
  if state.in_flight or #state.queue == 0 or not state.host then return end
  local batch = take_batch()
  if #batch == 0 then return end
  state.in_flight = true
  post('[' .. table.concat(batch, ',') .. ']', function(status, body)
    state.in_flight = false
    if status == '200' then
      state.sent = state.sent + #batch
    elseif status == '400' then
      requeue_all_but_refused(batch, body)
    else
      report(status and ('the bridge answered ' .. status .. ': ' .. body) or body)
    end
    flush()
  end)
end

local function push(event)
  table.insert(state.queue, vim.json.encode(event))
  vim.schedule(flush)
end

function M.opened(buf)
  local path = buffer_path(buf)
  if not path then return end
  state.saved[buf] = buffer_text(buf)
  local language = vim.bo[buf].filetype
  state.languages[buf] = language
  push({ type = 'file.opened', path = path, language = language ~= '' and language or nil })
end

function M.closed(buf)
  local path = buffer_path(buf)
  state.saved[buf], state.languages[buf] = nil, nil
  if path then push({ type = 'file.closed', path = path }) end
end

local MAX_DIFF_FILE = 256 * 1024

function M.written(buf)
  local path = buffer_path(buf)
  if not path then return end
  local before, after = state.saved[buf] or '', buffer_text(buf)
  state.saved[buf] = after
  if before == after then return end
  -- As `baton bridge watch` does: a file over 256 KiB goes without its diff, which could make the
  -- event alone pass the bridge's 1 MiB request limit.
  if #before > MAX_DIFF_FILE or #after > MAX_DIFF_FILE then
    return push({ type = 'file.changed', path = path, change = 'changed' })
  end
  local label = vim.fn.fnamemodify(path, ':.'):gsub('^/', '')
  local hunks = vim.diff(before, after, { result_type = 'unified', ctxlen = 3 })
  push({ type = 'file.changed', path = path, change = 'changed', diff = '--- a/' .. label .. '\n+++ b/' .. label .. '\n' .. hunks })
end

function M.diagnostics(buf)
  local path = buffer_path(buf)
  if not path then return end
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local code = d.code
    if type(code) ~= 'string' and type(code) ~= 'number' then code = nil end
    table.insert(list, {
      severity = severities[d.severity] or 'error',
      message = d.message,
      source = d.source,
      code = code,
      range = {
        start = { line = d.lnum, character = d.col },
        ['end'] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col },
      },
    })
  end
  -- An empty list (vim.json encodes {} as []) clears the file's diagnostics.
  push({ type = 'diagnostics.updated', path = path, diagnostics = list })
end

-- The bridge takes up to 100,000 characters of selected text. Counted in bytes here (never fewer
-- than characters), cut on a UTF-8 boundary, with a last line saying how much was left out.
local MAX_SELECTION_BYTES = 100000

local function within_limit(text)
  if #text <= MAX_SELECTION_BYTES then return text end
  local cut = MAX_SELECTION_BYTES - 40 -- room for the note
  while cut > 0 and text:byte(cut + 1) >= 0x80 and text:byte(cut + 1) < 0xC0 do cut = cut - 1 end
  return text:sub(1, cut) .. '\n… (cut: ' .. (#text - cut) .. ' more bytes)'
end

-- The visual selection (with its text), or the cursor position when there is none.
function M.selection()
  local buf = vim.api.nvim_get_current_buf()
  local path = buffer_path(buf)
  if not path then return end
  local mode = vim.api.nvim_get_mode().mode
  local cursor = vim.api.nvim_win_get_cursor(0)
  local range = { start = { line = cursor[1] - 1, character = cursor[2] }, ['end'] = { line = cursor[1] - 1, character = cursor[2] } }
  local text = nil
  if mode == 'v' or mode == 'V' or mode == '\22' then
    local a, b = vim.fn.getpos('v'), vim.fn.getpos('.')
    if a[2] > b[2] or (a[2] == b[2] and a[3] > b[3]) then a, b = b, a end
    local lines = vim.api.nvim_buf_get_lines(buf, a[2] - 1, b[2], false)
    if mode == 'V' then
      range = { start = { line = a[2] - 1, character = 0 }, ['end'] = { line = b[2] - 1, character = #(lines[#lines] or '') } }
    else
      lines[#lines] = string.sub(lines[#lines], 1, b[3])
      lines[1] = string.sub(lines[1], a[3])
      range = { start = { line = a[2] - 1, character = a[3] - 1 }, ['end'] = { line = b[2] - 1, character = b[3] } }
    end
    text = within_limit(table.concat(lines, '\n'))
  end
  push({ type = 'selection.changed', path = path, range = range, text = text })
end

local function selection_soon()
  state.selection_timer:stop()
  state.selection_timer:start(state.debounce_ms, 0, vim.schedule_wrap(M.selection))
end

-- Waits (at most timeout_ms) until everything queued has been sent; true when it has.
function M.drain(timeout_ms)
  return vim.wait(timeout_ms or 2000, function() return #state.queue == 0 and not state.in_flight end, 10)
end

function M.status()
  return { url = state.host and ('http://' .. state.host .. ':' .. state.port) or nil, sent = state.sent, queued = #state.queue, errors = state.errors, last_error = state.last_error }
end

-- opts: { url = 'http://127.0.0.1:7311', token = '…' } or { data_dir = '/path/.baton' } (reads
-- bridge.json and bridge.token there; default: $BATON_DATA_DIR, else .baton in the working directory).
function M.setup(opts)
  opts = opts or {}
  -- expand: `~/work/app/.baton`, as the README writes it, is not a path Lua's io can open.
  local data_dir = vim.fn.expand(opts.data_dir or vim.env.BATON_DATA_DIR or (vim.fn.getcwd() .. '/.baton'))
  local url = opts.url
  if not url then
    local address = read_file(data_dir .. '/bridge.json')
    url = address and vim.json.decode(address).url or 'http://127.0.0.1:7311'
  end
  state.token = opts.token or (read_file(data_dir .. '/bridge.token') or ''):gsub('%s+$', '')
  if state.token == '' then return report('no token: start `baton bridge` once, or pass token = …') end
  local host, port = url:match('^https?://%[?([^%]/]+)%]?:(%d+)')
  if not host then return report('url must look like http://127.0.0.1:7311, not ' .. url) end
  if not host:match('^[%d%.]+$') and not host:match(':') then
    local found = uv.getaddrinfo(host, nil, { socktype = 'stream' })
    host = found and found[1] and found[1].addr or host
  end
  state.host, state.port = host, tonumber(port)
  state.debounce_ms = opts.debounce_ms or state.debounce_ms
  state.selection_timer = state.selection_timer or uv.new_timer()

  local group = vim.api.nvim_create_augroup('BatonBridge', { clear = true })
  local on = function(events, fn) vim.api.nvim_create_autocmd(events, { group = group, callback = fn }) end
  on({ 'BufReadPost', 'BufNewFile' }, function(args) M.opened(args.buf) end)
  -- A file opened before its type was known is reported again once it is (e.g. `filetype on` after setup).
  on('FileType', function(args)
    if state.saved[args.buf] ~= nil and state.languages[args.buf] == '' then M.opened(args.buf) end
  end)
  on('BufDelete', function(args) M.closed(args.buf) end)
  on('BufWritePost', function(args) M.written(args.buf) end)
  on('DiagnosticChanged', function(args) M.diagnostics(args.buf) end)
  on({ 'CursorMoved', 'CursorMovedI' }, selection_soon)
  -- :qa fires no BufDelete: the buffers still open are reported closed before nvim exits.
  on('VimLeavePre', function()
    for buf in pairs(state.saved) do M.closed(buf) end
    M.drain(1000)
  end)
  -- Buffers already open when setup runs.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and buffer_path(buf) then M.opened(buf) end
  end
end

return M
