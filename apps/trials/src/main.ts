import { runService } from '@medledger/platform';
import { TrialsModule } from './app.module';

void runService('trials', (config) => TrialsModule.forRoot(config));
