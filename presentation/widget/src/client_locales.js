// The chat client's texts in every language (see i18n.js).
import { client as ar } from "./locales/ar.json";
import { client as de } from "./locales/de.json";
import { client as en } from "./locales/en.json";
import { client as es } from "./locales/es.json";
import { client as fr } from "./locales/fr.json";

export const CLIENT_LOCALES = { en, de, fr, es, ar };
