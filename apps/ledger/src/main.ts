import { runService } from '@medledger/platform';
import { LedgerModule } from './app.module';

void runService('ledger', (config) => LedgerModule.forRoot(config));
