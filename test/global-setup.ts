// Runs once before every test suite: the real helm and kubectl the install and e2e tests use.
import { extractTools } from './helpers/tools';

export default async function globalSetup(): Promise<void> {
  await extractTools();
}
