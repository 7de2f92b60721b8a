// The styled error page (404, 500 …): translations and the language switch only.
import { startPublicPage } from "../core/layout.js";

await startPublicPage();
