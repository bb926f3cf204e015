import { Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '@medledger/platform';

/** What became of add-checkpoint requests, and the alarm: checkpoints that contradict the one cosigned. */
@Injectable()
export class WitnessMetrics {
  readonly requests: Counter<'outcome'>;
  readonly splitViews: Counter;

  constructor(@Inject(MetricsRegistry) metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.requests = new Counter({
      name: 'witness_add_checkpoint_total',
      help: 'add-checkpoint requests by outcome: cosigned, conflict (409), inconsistent (422), refused (400/403/404)',
      labelNames: ['outcome'],
      registers,
    });
    this.splitViews = new Counter({
      name: 'witness_split_view_total',
      help: 'Correctly signed ledger checkpoints that contradict the one this witness cosigned (alert when above 0)',
      registers,
    });
  }
}
