-- :BatonStatus shows where events go and whether they got there.
vim.api.nvim_create_user_command('BatonStatus', function()
  print(vim.inspect(require('baton').status()))
end, {})
