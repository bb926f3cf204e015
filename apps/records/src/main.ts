import { runService } from '@medledger/platform';
import { RecordsModule } from './app.module';

void runService('records', (config) => RecordsModule.forRoot(config));
