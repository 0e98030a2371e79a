/** What GET /tasks/counts/drift answers. */
export interface CountCheck {
  checked: number;
  drifted: { taskId: number; stored: Record<string, number>; counted: Record<string, number> }[];
  tallyDrifted: { status: string; stored: Record<string, number>; counted: Record<string, number> }[];
  repaired: number;
}

/**
 * Recounts every task's links through the service's own check (GET /tasks/counts/drift) and expects the per-task
 * counters to match exactly: whatever a test did to the links, the triggers kept up.
 */
export async function expectNoCountDrift(baseUrl: string): Promise<CountCheck> {
  const response = await fetch(`${baseUrl}/tasks/counts/drift`);
  expect(response.status).toBe(200);
  const check = (await response.json()) as CountCheck;
  expect(check.drifted).toEqual([]);
  expect(check.tallyDrifted).toEqual([]);
  expect(check.checked).toBeGreaterThan(0);
  return check;
}
