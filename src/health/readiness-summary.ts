import { HealthCheckResult, HealthIndicatorResult } from '@nestjs/terminus';

/**
 * A readiness answer with each check's status only. Readiness is open (probes carry no key), but its details name
 * the receiver URL, the database's host and port in connection errors, and model paths: with API_KEY set, only
 * callers presenting the key see them.
 */
export function statusesOnly(result: HealthCheckResult): HealthCheckResult {
  return {
    status: result.status,
    info: result.info && statuses(result.info),
    error: result.error && statuses(result.error),
    details: statuses(result.details),
  };
}

function statuses(checks: Partial<HealthIndicatorResult>): HealthIndicatorResult {
  return Object.fromEntries(
    Object.entries(checks).flatMap(([key, check]) => (check ? [[key, { status: check.status }]] : [])),
  );
}
