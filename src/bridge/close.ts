/**
 * A `close()` that runs `shutdown` once, whether asked directly or by `signal` aborting; when the signal
 * has already aborted, shutdown runs before this resolves.
 */
export async function closeOnceOrOnAbort(
  signal: AbortSignal | undefined,
  shutdown: () => Promise<void>,
): Promise<() => Promise<void>> {
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      signal?.removeEventListener('abort', onAbort);
      await shutdown();
    })());
  const onAbort = (): void => void close();
  if (signal?.aborted) await close();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return close;
}
