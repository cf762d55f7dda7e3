import { createRequire } from 'node:module';

/** One metric family as parse-prometheus-text-format returns it (the package ships no types). */
export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }>;
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => MetricFamily[];

/** Prometheus text parsed by a real parser of the format. */
export const parsePrometheus = (text: string): MetricFamily[] => parse(text);

/** The value of one series (a family and labels that must all match), summed over series that match. */
export function seriesValue(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  return (family?.metrics ?? [])
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value ?? 0), 0);
}
