import type { Redis } from 'ioredis';

/**
 * Takes a slot if the tenant has fewer than `limit` live ones. A slot is a lease that its worker
 * renews; a worker that dies stops renewing, so its slots lapse instead of leaking.
 * KEYS[1] = the tenant's slots; ARGV = member, limit, now, lease ms.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0`;

/** Per-tenant concurrency across every worker sharing a Redis: `tenant_max_concurrent_agents`. */
export class TenantSlots {
  constructor(
    private readonly redis: Redis,
    private readonly leaseMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  private key = (tenant: string): string => `baton:tenant-slots:${tenant}`;

  /** Takes (or renews) the slot `member` of `tenant`; false when the tenant is at its limit. */
  async acquire(tenant: string, member: string, limit: number): Promise<boolean> {
    const taken = await this.redis.eval(ACQUIRE, 1, this.key(tenant), member, limit, this.clock(), this.leaseMs);
    return taken === 1;
  }

  async release(tenant: string, member: string): Promise<void> {
    await this.redis.zrem(this.key(tenant), member);
  }

  /** How many live slots the tenant holds. */
  async held(tenant: string): Promise<number> {
    return this.redis.zcount(this.key(tenant), `(${this.clock()}`, '+inf');
  }
}
