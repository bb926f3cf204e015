import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/**
 * Tells the Kafka consumer whether to restart after a crash. kafkajs restarts a crashed consumer (broker gone, say)
 * after a delay. When the application closes while such a restart is already running, `disconnect()` has no timer
 * left to clear, and the restarted consumer runs on by itself, retrying its broker every few seconds and keeping
 * the process alive: a test process hung after its suite had passed, its broker stopped, its app closed. Asked
 * before every restart, this says no once the application's shutdown has begun (module destroy comes before the
 * microservice is closed, on `app.close()` and on a signal alike).
 */
@Injectable()
export class ConsumerLifecycle implements OnModuleDestroy {
  private closing = false;

  /** kafkajs `retry.restartOnFailure`. */
  readonly restartOnFailure = async (): Promise<boolean> => !this.closing;

  onModuleDestroy(): void {
    this.closing = true;
  }
}
