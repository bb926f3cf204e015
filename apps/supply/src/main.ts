import { runService } from '@medledger/platform';
import { SupplyModule } from './app.module';

void runService('supply', (config) => SupplyModule.forRoot(config));
