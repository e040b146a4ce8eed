#!/usr/bin/env node
import { main, handleError } from "../dist/src/cli.js";
main().catch(handleError);
