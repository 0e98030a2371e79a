import { sleep } from '../../src/common/backoff';
import { Feeder } from './feeder';
import { hostileRequests, isFailure, sendHostile } from './hostile';
import { Journal } from './journal';
import { SoakOptions } from './options';
import { SoakPostgres } from './postgres';
import { FaultReceiver } from './receiver';
import { SenderFleet } from './senders';

/** How long after PostgreSQL is back a sender that is still the same process counts as having survived. */
const PG_SURVIVAL_WINDOW_MS = 15_000;

/**
 * The chaos phase: independent actors until the deadline — the feeder, a sender killer (SIGKILL or SIGTERM), receiver
 * outages (503s, or refused connections) and PostgreSQL restarts at fixed points of the phase. An action that has
 * begun runs to its end (an outage lasts its full length), so the phase may overrun its deadline by one action.
 */
export class Chaos {
  private deadline = 0;
  /** The killer rests while PostgreSQL restarts, so every sender exit in that window is the restart's doing. */
  private pgBusy = false;

  constructor(
    private readonly options: SoakOptions,
    private readonly fleet: SenderFleet,
    private readonly receiver: FaultReceiver,
    private readonly postgres: SoakPostgres,
    private readonly feeder: Feeder,
    private readonly journal: Journal,
  ) {}

  async run(durationMs: number): Promise<void> {
    this.deadline = Date.now() + durationMs;
    await Promise.all([this.feed(), this.kill(), this.cutReceiver(), this.restartPostgres(durationMs), this.attack()]);
  }

  private get over(): boolean {
    return Date.now() >= this.deadline;
  }

  /** Sleeps `ms`, or less when the deadline comes first; false once the phase is over. */
  private async rest(ms: number): Promise<boolean> {
    await sleep(Math.max(0, Math.min(ms, this.deadline - Date.now())));
    return !this.over;
  }

  private async feed(): Promise<void> {
    while (await this.rest(this.options.feedEveryMs)) await this.feeder.feedOne(this.fleet.apis());
  }

  private async kill(): Promise<void> {
    const { killEveryMinS, killEveryMaxS, sigtermShare } = this.options;
    while (await this.rest(this.journal.between(killEveryMinS, killEveryMaxS) * 1000)) {
      if (this.pgBusy) continue;
      const signal = this.journal.chance(sigtermShare) ? 'SIGTERM' : 'SIGKILL';
      await this.fleet.stopOne(signal, Number(this.options.senderEnv.SENDER_SHUTDOWN_GRACE_MS ?? 5000));
    }
  }

  private async cutReceiver(): Promise<void> {
    const o = this.options;
    while (await this.rest(this.journal.between(o.outageGapMinS, o.outageGapMaxS) * 1000)) {
      const seconds = this.journal.between(o.outageMinS, o.outageMaxS);
      const mode = this.journal.pick(['503', 'refused'] as const);
      this.journal.event(`receiver outage (${mode}) for ${seconds.toFixed(0)} s`);
      if (mode === '503') this.receiver.state = '503';
      else await this.receiver.refuse();
      await sleep(seconds * 1000);
      if (mode === '503') this.receiver.state = 'up';
      else await this.receiver.start();
      this.journal.event('receiver back');
      const tally = this.journal.tally;
      if (mode === '503') tally.outages503++;
      else tally.outagesRefused++;
      tally.outageSeconds += seconds;
      tally.longestOutageS = Math.max(tally.longestOutageS, seconds);
    }
  }

  /**
   * Issue 20's attacks, one kind at a time, on a running sender's API: each must be answered (a refusal counts as an
   * answer) and the sender must live on. Not while PostgreSQL restarts, when senders may exit for that reason.
   */
  private async attack(): Promise<void> {
    const { hostileEveryMinS: min, hostileEveryMaxS: max } = this.options;
    if (max <= 0) return;
    while (await this.rest(this.journal.between(min, max) * 1000)) {
      const apis = this.fleet.apis();
      if (this.pgBusy || apis.length === 0) continue;
      const apiUrl = this.journal.pick(apis);
      const pid = this.fleet.pidAt(apiUrl);
      if (!pid) continue;
      const request = this.journal.pick(hostileRequests());
      const sent = await sendHostile(apiUrl, request);
      // The killer (or a PostgreSQL restart) may take the target down meanwhile: then nothing is the attack's doing.
      const interrupted = this.fleet.stoppedOnPurpose.has(pid) || this.pgBusy;
      const statuses = interrupted ? sent.map(() => 'interrupted') : sent;
      const tally = this.journal.tally;
      tally.hostileAttacks++;
      statuses.forEach((status) => (tally.hostileAnswers[status] = (tally.hostileAnswers[status] ?? 0) + 1));
      const died = !interrupted && this.fleet.pidAt(apiUrl) !== pid;
      if (died) tally.hostileDeaths++;
      tally.hostileFailures += statuses.filter(isFailure).length;
      this.journal.event(`hostile: ${request.name} → ${sent.join(' ')}${died ? '; the sender died' : ''}`);
    }
  }

  private async restartPostgres(durationMs: number): Promise<void> {
    const { pgRestarts, pgDownMinS, pgDownMaxS } = this.options;
    const startedAt = this.deadline - durationMs;
    for (let i = 0; i < pgRestarts; i++) {
      const at = startedAt + ((i + 1) / (pgRestarts + 1)) * durationMs;
      await sleep(Math.max(0, at - Date.now()));
      if (this.over) return;
      await this.restartOnce(i % 2 === 0 ? 'immediate' : 'fast', this.journal.between(pgDownMinS, pgDownMaxS));
    }
  }

  private async restartOnce(mode: 'immediate' | 'fast', downS: number): Promise<void> {
    this.pgBusy = true;
    const before = this.fleet.pids();
    this.journal.event(`PostgreSQL stop (${mode}) for ${downS.toFixed(0)} s`);
    await this.postgres.stop(mode);
    await sleep(downS * 1000);
    await this.postgres.start();
    this.journal.event('PostgreSQL started again');
    await sleep(PG_SURVIVAL_WINDOW_MS);
    const after = new Set(this.fleet.pids());
    // A sender the killer stopped just as the restart began neither survived nor fell to it.
    const judged = before.filter((pid) => !this.fleet.stoppedOnPurpose.has(pid));
    const survived = judged.filter((pid) => after.has(pid)).length;
    this.journal.tally.pgRestarts++;
    this.journal.tally.pgDownSeconds += downS;
    this.journal.tally.sendersSurvivedPg += survived;
    this.journal.tally.sendersExitedOnPg += judged.length - survived;
    this.journal.event(`${survived} of ${judged.length} senders survived the PostgreSQL restart`);
    this.pgBusy = false;
  }
}
