import { applyCommand } from './applyCommand.js';
import { backupCommand } from './backupCommand.js';
import type { Command } from './command.js';
import { diffCommand } from './diffCommand.js';
import { exportCommand } from './exportCommand.js';
import { resealCommand } from './resealCommand.js';
import { restoreCommand } from './restoreCommand.js';
import { testCommand } from './testCommand.js';
import { unlockAdminCommand } from './unlockAdminCommand.js';

/** Every command of `cek-gateway`, in the order `--help` lists them. A new command is one entry here. */
export const COMMANDS: readonly Command[] = [exportCommand, diffCommand, applyCommand, testCommand, backupCommand, restoreCommand, resealCommand, unlockAdminCommand];
