import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BatonError, ErrorCodes } from '../core/index.js';
import { ensureTokenFile } from '../http/index.js';
import type { AgentJob } from '../orchestrator/index.js';

/**
 * A job as it sits in Redis: everything the queue and an operator may read in clear, and the fields
 * that carry secrets — the workflow's `env` for the agent and its MCP servers' launch configs, with
 * `${VAR}` references already expanded — sealed with AES-256-GCM under the job key.
 */
export type SealedAgentJob = Omit<AgentJob, 'env' | 'spec' | 'sharedMcpEnv'> & {
  spec: Omit<AgentJob['spec'], 'mcpServers'>;
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url: JSON of `{ env, mcpServers, sharedMcpEnv? }`. */
  sealed: string;
};

/** What the sealed part holds. */
interface SecretPart {
  env: AgentJob['env'];
  mcpServers: AgentJob['spec']['mcpServers'];
  sharedMcpEnv?: AgentJob['sharedMcpEnv'];
}

/** The key file in data_dir when no `job_secret` is configured (a worker sharing the data dir reads the same one). */
export const jobKeyFile = (dataDir: string): string => join(dataDir, 'job.key');

/**
 * The 32-byte job key: derived (HKDF-SHA256) from `job_secret` when it is set — the same value on the
 * orchestrator and every worker — else from a random key kept 0600 in data_dir, which only workers
 * sharing that directory (the same host, or a shared volume) can read.
 */
export function jobKey(jobSecret: string | undefined, dataDir: string): Buffer {
  const secret = jobSecret ?? ensureTokenFile(jobKeyFile(dataDir));
  if (secret === undefined)
    throw new BatonError(
      ErrorCodes.configInvalid,
      `Cannot read the job key in ${jobKeyFile(dataDir)}; set job_secret.`,
    );
  return Buffer.from(hkdfSync('sha256', secret, 'baton-job-seal', 'agent job v1', 32));
}

const b64 = (buffer: Buffer): string => buffer.toString('base64url');

export function sealJob(job: AgentJob, key: Buffer): SealedAgentJob {
  const { env, spec, sharedMcpEnv, ...rest } = job;
  const { mcpServers, ...openSpec } = spec;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The job id is bound to the ciphertext: a sealed part copied into another job does not open.
  cipher.setAAD(Buffer.from(`${job.runId}|${job.agentId}`));
  const plain: SecretPart = { env, mcpServers, ...(sharedMcpEnv ? { sharedMcpEnv } : {}) };
  const data = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
  return { ...rest, spec: openSpec, sealed: ['v1', b64(iv), b64(cipher.getAuthTag()), b64(data)].join('.') };
}

/** The job as the orchestrator sent it; a key that differs from the orchestrator's is BATON_JOB_KEY_MISMATCH. */
export function openJob(sealedJob: SealedAgentJob, key: Buffer): AgentJob {
  const { sealed, spec, ...rest } = sealedJob;
  // Jobs are JSON from Redis: one queued by a Baton from before sealing has no sealed part at all.
  if (typeof (sealed as unknown) !== 'string')
    throw new BatonError(
      ErrorCodes.jobKeyMismatch,
      `The job of agent ${sealedJob.agentId} was queued by an older Baton, without sealed secrets. Continue its run with the current version: baton run --resume ${sealedJob.runId}`,
    );
  const [version, iv, tag, data] = sealed.split('.');
  try {
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error(`unknown seal ${version}`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(`${sealedJob.runId}|${sealedJob.agentId}`));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
    const { env, mcpServers, sharedMcpEnv } = JSON.parse(plain.toString('utf8')) as SecretPart;
    return {
      ...rest,
      spec: { ...spec, ...(mcpServers ? { mcpServers } : {}) },
      env,
      ...(sharedMcpEnv ? { sharedMcpEnv } : {}),
    };
  } catch (cause) {
    throw new BatonError(
      ErrorCodes.jobKeyMismatch,
      `This worker cannot open the job of agent ${sealedJob.agentId}: its job key differs from the orchestrator's. Give the orchestrator and every worker the same job_secret (BATON_JOB_SECRET), or the same data_dir.`,
      { cause },
    );
  }
}
