import { Command } from '../command';
import { exportCommand } from './export';
import { psql } from './psql';
import { search, searchIndex } from './search';
import { submit } from './submit';
import { cancel, checkCounts, list, retry, status, watch } from './task-commands';

/** In the order `--help` lists them. */
export const COMMANDS: Command[] = [
  submit,
  status,
  watch,
  list,
  retry,
  cancel,
  exportCommand,
  search,
  searchIndex,
  checkCounts,
  psql,
];
