import { sleep } from './backoff';

/**
 * What to do after a failed try: wait `ms` and try again, or stop by throwing (the error itself, or one that says
 * why no more tries are made). `attempt` counts the tries so far, from 1.
 */
export type NextTry = (error: unknown, attempt: number) => number | Promise<number>;

/**
 * Runs `work` until it succeeds or `next` gives up: the one retry loop of the service (database conflicts, waiting
 * for the database or a remote server at start-up, deliveries, remote requests). Each caller keeps its own rule of
 * what is worth another try and how long to wait; the loop, the attempt count and the abortable wait are here.
 */
export async function retrying<T>(
  work: (attempt: number) => Promise<T>,
  next: NextTry,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      await sleep(await next(error, attempt), signal);
    }
  }
}
