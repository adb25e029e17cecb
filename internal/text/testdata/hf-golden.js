// Regenerates hf-golden.json: the encodings Hugging Face's own tokenizer (the Rust library,
// through its Node binding, npm package tokenizers@0.23.2) gives for bert-base-uncased.json.
// Run: npm install tokenizers@0.23.2 && node hf-golden.js > hf-golden.json
// Offsets are in characters (code points), as Hugging Face reports them. decoded is the ids
// decoded with special tokens skipped, decodedWithSpecial without skipping.
const {Tokenizer} = require('tokenizers');
const texts = [
  "Hello, world!", "My order #12345 hasn't arrived.", "José Müller called.", "unaffable tokenization",
  "Zoe\u00a0Renee\u200b\tcafé\n", "", "   ", "Straße in Köln", "İstanbul naïve façade résumé",
  "Ångström ÅNGSTRÖM Øresund Łódź", "I ❤️ pizza 🍕!!", "我爱北京天安门", "東京タワーへ行く",
  "Price: $1,299.99 (incl. VAT) — 20% off…", "e-mail: john.doe@example.com, tel +1-555-0100",
  "don't won't can't y'all", "“Smart quotes” and ‘single’ «guillemets»", "Привет, мир! Ελληνικά",
  "مرحبا بالعالم", "नमस्ते दुनिया", "ﬁne ﬂour ½ ² Ⅻ", "tab\there\r\nnewline\u0000null\u0007bell",
  "supercalifragilisticexpialidocious antidisestablishmentarianism", "[CLS] [SEP] [MASK] [UNK] ##ing",
  "a[MASK]b [mask] x[SEP]", "Mr. O'Neil's order #A-77 was refunded; please confirm ASAP!!!",
  "x".repeat(101), "ǅemal ǈubica", "\u0301leading combining mark", "a\u0301e\u0300i\u0302",
  "ﾊﾝｶｸ ｶﾀｶﾅ", "ＦＵＬＬＷＩＤＴＨ １２３", "\ufeffbom \u2028line\u2029para \u00ad soft\u00adhyphen",
];
const pairs = [
  ["Where is my order?", "Your order #12345 shipped on Monday."],
  ["short", "a much longer second text that will need to lose several of its tokens"],
  ["a much longer first text that will need to lose several of its tokens", "short"],
  ["both texts here are fairly long ones", "and the second is long as well, really"],
  ["", "only b"], ["only a", ""], ["José", "[MASK] Müller"],
];
function record(t, e) {
  return {text: t, ids: e.getIds(), tokens: e.getTokens(), offsets: e.getOffsets(),
      wordIds: e.getWordIds().map(w => (w === null || w === undefined) ? -1 : w),
      specialTokensMask: e.getSpecialTokensMask(), attentionMask: e.getAttentionMask(), typeIds: e.getTypeIds(),
      decoded: null, decodedWithSpecial: null};
}
async function encodeAll(tk) {
  const out = [];
  for (const t of texts) {
    const e = await tk.encode(t, null, {addSpecialTokens: true});
    const r = record(t, e);
    r.decoded = await tk.decode(e.getIds(), true);
    r.decodedWithSpecial = await tk.decode(e.getIds(), false);
    out.push(r);
  }
  return out;
}
async function encodePairs(tk) {
  const out = [];
  for (const [a, b] of pairs) {
    const r = record(a, await tk.encode(a, b, {addSpecialTokens: true}));
    r.pair = b;
    out.push(r);
  }
  return out;
}
(async () => {
  const tk = Tokenizer.fromFile(__dirname + '/../bertbase/bert-base-uncased.json');
  const full = await encodeAll(tk);
  const pairsFull = await encodePairs(tk);
  tk.setTruncation(8);
  const truncated = await encodeAll(tk);
  const pairs8 = await encodePairs(tk);
  tk.setTruncation(13);
  const pairs13 = await encodePairs(tk);
  console.log(JSON.stringify({full, maxLength8: truncated, pairs: pairsFull, pairsMaxLength8: pairs8, pairsMaxLength13: pairs13}, null, 0));
})();
