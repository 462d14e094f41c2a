import { describeEngineCompliance } from './engine.compliance';
import { MemoryEngine } from './memory-engine';

describeEngineCompliance('MemoryEngine', async (limits) => new MemoryEngine(':memory:', limits ?? {}));
