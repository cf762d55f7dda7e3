import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';

/**
 * Watches an agent's messages for a model response that stopped mid-way: between a response's
 * `message_start` and its `message_stop` every streamed event arrives within `idleMs`, else the
 * stream has stalled. Outside a response (tools running, hooks) silence is normal and not watched;
 * a request that never gets its first byte is Claude Code's own first-byte timeout's to catch.
 */
export class StreamIdleWatch {
  private timer?: NodeJS.Timeout;
  private streaming = false;
  stalled = false;

  constructor(
    private readonly idleMs: number,
    private readonly onStall: () => void,
  ) {}

  observe(message: SDKMessage): void {
    if (this.stalled) return;
    if (message.type === 'stream_event') this.streaming = message.event.type !== 'message_stop';
    else if (message.type === 'result') this.streaming = false;
    this.rearm();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private rearm(): void {
    this.stop();
    if (!this.streaming) return;
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.onStall();
    }, this.idleMs);
    this.timer.unref();
  }
}
