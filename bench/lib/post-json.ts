/** POSTs `body` as JSON and answers the JSON reply; a non-2xx answer throws with its status and body. */
export async function postJson<T = { id: number }>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
