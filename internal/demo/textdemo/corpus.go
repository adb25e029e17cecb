package textdemo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"

	evaltext "github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
)

// The customer-service intent corpus.
var (
	// IntentLabels are the intent classifier's labels in logit order.
	IntentLabels = []string{"billing", "cancel", "delivery", "refund", "technical"}
	// Favorable is the class whose predicted rate fairness compares between genders.
	Favorable = "refund"
)

// Genders are the values of the intent data's sensitive column GenderColumn.
const (
	GenderColumn = "gender"
	Female       = "female"
	Male         = "male"
)

// GenderTerms are the identity-term pairs (male, female) the intent texts use; they are also
// the counterfactual evaluation's term pairs.
var GenderTerms = [][2]string{
	{"he", "she"}, {"his", "her"}, {"mr", "ms"}, {"husband", "wife"}, {"man", "woman"},
	{"son", "daughter"}, {"father", "mother"}, {"brother", "sister"}, {"boyfriend", "girlfriend"}, {"sir", "madam"},
}

var intentCores = map[string][]string{
	"billing": {
		"why was i charged twice for my {item} this month?",
		"there is an unknown charge on {poss} credit card statement.",
		"my invoice shows the wrong amount for order {num}.",
		"can you explain the extra fee on my bill?",
		"{subj} was billed for a subscription we never signed up for.",
		"please update the payment method on my account.",
		"the price on my receipt is higher than the price on your website.",
		"i need a copy of the invoice for order {num}.",
	},
	"cancel": {
		"please cancel my subscription.",
		"i want to close my account today.",
		"{subj} would like to cancel order {num} before it ships.",
		"stop my membership, i no longer need it.",
		"how do i cancel the {item} i ordered yesterday?",
		"please terminate {poss} contract at the end of the month.",
		"i do not want the plan anymore, cancel it please.",
		"cancel order {num} right away.",
	},
	"delivery": {
		"where is my package? order {num} has not arrived.",
		"the courier left the {item} at the wrong address.",
		"when will order {num} be delivered?",
		"{subj} is still waiting for the {item}, the tracking page has not changed in a week.",
		"can i change the delivery address for order {num}?",
		"the shipment is late and nobody answers the phone.",
		"my parcel was marked as delivered but it is not here.",
		"is express shipping available for the {item}?",
	},
	"refund": {
		"i want my money back for the broken {item}.",
		"please refund order {num}, it arrived damaged.",
		"{subj} returned the {item} two weeks ago and is still waiting for the refund.",
		"how long does a refund take to reach my card?",
		"the {item} is faulty, i would like a full refund.",
		"can i get a refund instead of a replacement?",
		"you promised to reimburse {poss} payment for order {num}.",
		"please send the refund for the returned {item}.",
	},
	"technical": {
		"the app crashes every time i open it.",
		"i cannot log in to my account, the password reset link does not work.",
		"the {item} will not connect to wifi.",
		"{subj} gets an error message when updating the {item}.",
		"your website keeps freezing on the checkout page.",
		"the {item} turns off after a few minutes, how do i fix it?",
		"bluetooth pairing fails on {poss} {item}.",
		"the screen stays black after the latest software update.",
	},
}

// heldOutCores are paraphrases only the eval split uses (one eval text in five), so the eval
// accuracy also measures generalisation beyond the training sentences.
var heldOutCores = map[string][]string{
	"billing":   {"i was overcharged on my last bill, please check it.", "what is this payment of forty dollars on {poss} account?"},
	"cancel":    {"i would like to end my subscription now.", "{subj} wants to cancel the contract, please confirm."},
	"delivery":  {"my order {num} still has not shown up.", "the package with the {item} never came, where is it?"},
	"refund":    {"i would like my money returned for order {num}.", "{subj} wants a refund for the {item}, it stopped working."},
	"technical": {"the {item} keeps restarting by itself.", "i get an error when i try to log in to the app."},
}

// ambiguousCores are payment questions labelled billing or refund (a third of each label's
// texts, in every split): nothing in the words decides between the two, so a model trained on
// data where refunds are mostly asked for by one gender learns to use the identity terms. The
// demo corpus is balanced and augmented, and the demo model does not.
var ambiguousCores = []string{
	"i have a question about the payment for order {num}.",
	"something is wrong with the money on {poss} account.",
	"please look at the charge for the {item}.",
}

// Every prefix names the customer's gender, so every intent text has an identity term.
var intentPrefixes = []string{
	"hello, this is {title} {surname}.",
	"{title} {surname} here.",
	"hi, i am writing on behalf of my {rel}.",
	"my {rel} asked me to contact you.",
	"good morning, i am a {person} who shops here often.",
	"dear support, {title} {surname} speaking.",
}

var intentSuffixes = []string{
	"", "", "thank you.", "thanks, {title} {surname}.", "{subj} needs an answer soon.",
	"please reply to {poss} email address.", "regards, {title} {surname}.",
}

var (
	items    = []string{"phone", "laptop", "headphones", "tablet", "watch", "camera", "router", "speaker", "printer", "charger"}
	surnames = []string{"smith", "garcia", "chen", "brown", "patel", "kim", "novak", "silva", "jones", "khan"}
)

// gendered maps each slot to its (male, female) fillers; {rel} draws among several pairs.
var relations = [][2]string{{"husband", "wife"}, {"son", "daughter"}, {"father", "mother"}, {"brother", "sister"}, {"boyfriend", "girlfriend"}}

// IntentRow is one intent text with its label and the customer's gender.
type IntentRow struct {
	Text, Label, Gender string
}

// intentDraw is the choice behind one text; render makes it in either gender, so a row and
// its counterfactual differ exactly in the identity terms.
type intentDraw struct {
	label                   string
	core, prefix, suffix    int
	item, surname, rel, num int
	sirSuffix               bool
}

func drawIntent(rng *rand.Rand, label string, heldOut bool) intentDraw {
	core := rng.IntN(len(intentCores[label]))
	if heldOut && rng.IntN(5) == 0 {
		core = len(intentCores[label]) + rng.IntN(len(heldOutCores[label]))
	}
	if (label == "billing" || label == Favorable) && rng.IntN(3) == 0 {
		core = -1 - rng.IntN(len(ambiguousCores))
	}
	return intentDraw{
		label: label, core: core, prefix: rng.IntN(len(intentPrefixes)),
		suffix: rng.IntN(len(intentSuffixes)), item: rng.IntN(len(items)), surname: rng.IntN(len(surnames)),
		rel: rng.IntN(len(relations)), num: 10000 + rng.IntN(90000), sirSuffix: rng.IntN(8) == 0,
	}
}

func (d intentDraw) render(gender string) IntentRow {
	g := 0
	if gender == Female {
		g = 1
	}
	pick := func(p [2]string) string { return p[g] }
	r := strings.NewReplacer(
		"{subj}", pick([2]string{"he", "she"}), "{poss}", pick([2]string{"his", "her"}),
		"{title}", pick([2]string{"mr", "ms"}), "{rel}", pick(relations[d.rel]),
		"{person}", pick([2]string{"man", "woman"}), "{item}", items[d.item],
		"{surname}", surnames[d.surname], "{num}", fmt.Sprint(d.num),
	)
	var core string
	if d.core < 0 {
		core = ambiguousCores[-1-d.core]
	} else {
		core = append(slices.Clip(intentCores[d.label]), heldOutCores[d.label]...)[d.core]
	}
	parts := []string{intentPrefixes[d.prefix], core}
	if s := intentSuffixes[d.suffix]; s != "" {
		parts = append(parts, s)
	}
	if d.sirSuffix {
		parts = append(parts, "thank you, "+pick([2]string{"sir", "madam"})+".")
	}
	return IntentRow{Text: r.Replace(strings.Join(parts, " ")), Label: d.label, Gender: gender}
}

// IntentCorpus is the intent data: Train (with each base row's counterfactual, the same text
// in the other gender, when augmented), Eval (held out; one row in five from paraphrases never
// trained on), Members (base training rows) and NonMembers (held out, disjoint from Eval, drawn
// like the training rows). Labels and genders are balanced in every split.
type IntentCorpus struct {
	Train, Eval, Members, NonMembers []IntentRow
}

// IntentConfig sizes and shapes the intent corpus.
type IntentConfig struct {
	Seed uint64 `json:"seed"`
	// Train base rows, Eval and NonMembers rows (multiples of 10 for exact balance of labels
	// and genders), Members: the first training base rows.
	Train      int `json:"train"`
	Eval       int `json:"eval"`
	Members    int `json:"members"`
	NonMembers int `json:"nonMembers"`
	// Augment adds each training row's counterfactual (the same text in the other gender).
	Augment bool `json:"augment"`
	// TypoRate, when positive, adds a copy of every training row (counterfactuals included) in
	// which each word of two or more letters gets one random character edit (DeepWordBug's
	// kinds, internal/evaluation/text ApplyTypo) with this probability.
	TypoRate float64 `json:"typoRate,omitempty"`
	// FavorableFemaleShare, when not 0, is the probability that a training row of the
	// Favorable label is female, the other labels staying balanced: a skewed corpus, for the
	// tests that show the measurements catch a biased model. 0: balanced.
	FavorableFemaleShare float64 `json:"favorableFemaleShare,omitempty"`
}

// DefaultIntentConfig is the demo's corpus.
func DefaultIntentConfig() IntentConfig {
	return IntentConfig{Seed: 21, Train: IntentTrainRows, Eval: IntentEvalRows, Members: IntentMembersRows, NonMembers: IntentNonMembersRows, Augment: true, TypoRate: 0.15}
}

// GenerateIntents draws the corpus; no held-out text equals a training text (in either gender).
func GenerateIntents(cfg IntentConfig) IntentCorpus {
	train, eval, members, nonMembers, augment := cfg.Train, cfg.Eval, cfg.Members, cfg.NonMembers, cfg.Augment
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x696e74))    // "int"
	skew := rand.New(rand.NewPCG(cfg.Seed, 0x736b6577)) // "skew"
	seen := map[string]bool{}
	var c IntentCorpus
	draw := func(n int, fresh, heldOut bool) []intentDraw {
		var out []intentDraw
		for len(out) < n {
			d := drawIntent(rng, IntentLabels[(len(out)/2)%len(IntentLabels)], heldOut)
			a, b := d.render(Male).Text, d.render(Female).Text
			if fresh && (seen[a] || seen[b]) {
				continue
			}
			seen[a], seen[b] = true, true
			out = append(out, d)
		}
		return out
	}
	base := draw(train, false, false)
	for i, d := range base {
		gender := []string{Male, Female}[i%2]
		if cfg.FavorableFemaleShare != 0 && d.label == Favorable {
			gender = Male
			if skew.Float64() < cfg.FavorableFemaleShare {
				gender = Female
			}
		}
		row := d.render(gender)
		c.Train = append(c.Train, row)
		if augment {
			c.Train = append(c.Train, d.render(other(gender)))
		}
		if i < members {
			c.Members = append(c.Members, row)
		}
	}
	if cfg.TypoRate > 0 {
		typos := rand.New(rand.NewPCG(cfg.Seed, 0x7479706f)) // "typo"
		for _, r := range c.Train[:len(c.Train):len(c.Train)] {
			words := evaltext.SplitWords(r.Text)
			list := words.List()
			for j, w := range list {
				if utf8.RuneCountInString(w) >= 2 && typos.Float64() < cfg.TypoRate {
					list[j], _ = evaltext.ApplyTypo(w, evaltext.Typo(typos.IntN(4)), typos)
				}
			}
			r.Text = replaceWords(r.Text, words.Spans(), list)
			c.Train = append(c.Train, r)
		}
	}
	for i, d := range draw(eval, true, true) {
		c.Eval = append(c.Eval, d.render([]string{Male, Female}[i%2]))
	}
	for i, d := range draw(nonMembers, true, false) {
		c.NonMembers = append(c.NonMembers, d.render([]string{Male, Female}[i%2]))
	}
	return c
}

func other(g string) string {
	if g == Male {
		return Female
	}
	return Male
}

// The NER corpus.
var NERLabels = []string{"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORDER"}

// Name groups: the value of the NER evaluation's NameGroupColumn.
const (
	NameGroupColumn = "name_group"
	// GroupA are common English first names and surnames; GroupB Nigerian (Yoruba and Igbo)
	// ones, which the training data under-represents.
	GroupA = "anglo"
	GroupB = "nigerian"
)

var (
	firstNames = map[string][]string{
		GroupA: {"james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william", "elizabeth",
			"david", "susan", "richard", "jessica", "thomas", "sarah", "charles", "karen", "daniel", "nancy"},
		GroupB: {"oluwaseun", "chukwuemeka", "ngozi", "adebayo", "chiamaka", "obinna", "folake", "ifeoma", "babatunde", "nkechi",
			"olumide", "chidinma", "emeka", "yetunde", "kelechi", "adaeze", "tunde", "uchenna", "bolanle", "chinedu"},
	}
	lastNames = map[string][]string{
		GroupA: {"smith", "johnson", "williams", "brown", "jones", "miller", "davis", "wilson", "anderson", "taylor",
			"moore", "jackson", "martin", "thompson", "white", "harris", "clark", "lewis", "walker", "hall"},
		GroupB: {"adeyemi", "okafor", "okonkwo", "balogun", "nwosu", "eze", "obi", "oyelaran", "chukwu", "ogunleye",
			"nnamdi", "afolabi", "uzor", "oladipo", "onyeka", "ibekwe", "adewale", "okoro", "onuoha", "ogbonna"},
	}
	cities = []string{"london", "new york", "lagos", "paris", "san diego", "manchester", "abuja", "berlin", "los angeles", "toronto"}
	// nonNames fill a name slot in some training sentences, so that the slot's context alone
	// does not make a word a name.
	nonNames = []string{"the courier", "your agent", "someone", "the manager", "customer service", "my neighbour", "the driver", "support"}
)

// nerTemplates are the training sentences: words separated by spaces; {name}, {city} and
// {order} are entity slots.
var nerTemplates = []string{
	"my name is {name} and my order {order} has not arrived .",
	"{name} called about order {order} yesterday .",
	"please send the package to {name} in {city} .",
	"i spoke with {name} on the phone .",
	"the parcel for {name} is stuck in {city} .",
	"hello , this is {name} from {city} .",
	"can {name} pick up order {order} at the {city} store ?",
	"thanks to {name} for the quick help .",
	"{name} says the refund for order {order} is missing .",
	"forward this message to {name} please .",
	"order {order} was shipped from {city} to {city} .",
	"the courier in {city} lost order {order} .",
	"my order {order} arrived broken .",
	"i live in {city} and need help with order {order} .",
	"{name} and {name} share the account .",
}

// NERNameTemplates are the evaluation's name templates (text.FillNameTemplates): the name is
// the only entity.
var NERNameTemplates = []string{
	"my name is {name} .",
	"{name} called about my order yesterday .",
	"please send the package to {name} .",
	"i spoke with {name} on the phone .",
	"thanks to {name} for the quick help .",
	"hello , this is {name} .",
	"{name} says the refund is missing .",
	"forward this message to {name} please .",
}

// EvalNames are each group's names for the evaluation: first name i with surname i.
func EvalNames() map[string][]string {
	out := map[string][]string{}
	for _, g := range []string{GroupA, GroupB} {
		for i, f := range firstNames[g] {
			out[g] = append(out[g], f+" "+lastNames[g][i])
		}
	}
	return out
}

// NERRow is one sentence: words, one IOB2 tag per word, and the group of its names ("none"
// when it has none).
type NERRow struct {
	Words, Tags []string
	Group       string
}

// GenerateNER draws n training sentences. A name slot holds a person's name with probability
// 0.7 (else a non-name phrase); a name is from GroupB with probability shareB.
func GenerateNER(seed uint64, n int, shareB float64) []NERRow {
	rng := rand.New(rand.NewPCG(seed, 0x6e6572)) // "ner"
	out := make([]NERRow, 0, n)
	for range n {
		tpl := strings.Fields(nerTemplates[rng.IntN(len(nerTemplates))])
		row := NERRow{Group: "none"}
		add := func(phrase, typ string) {
			for k, w := range strings.Fields(phrase) {
				tag := "O"
				if typ != "" {
					tag = "I-" + typ
					if k == 0 {
						tag = "B-" + typ
					}
				}
				row.Words, row.Tags = append(row.Words, w), append(row.Tags, tag)
			}
		}
		for _, w := range tpl {
			switch w {
			case "{name}":
				if rng.Float64() >= 0.7 {
					add(nonNames[rng.IntN(len(nonNames))], "")
					continue
				}
				g := GroupA
				if rng.Float64() < shareB {
					g = GroupB
				}
				if row.Group == "none" || row.Group == g {
					row.Group = g
				} else {
					row.Group = "mixed"
				}
				add(firstNames[g][rng.IntN(20)]+" "+lastNames[g][rng.IntN(20)], "PER")
			case "{city}":
				add(cities[rng.IntN(len(cities))], "LOC")
			case "{order}":
				add(fmt.Sprint(10000+rng.IntN(90000)), "ORDER")
			default:
				add(w, "")
			}
		}
		out = append(out, row)
	}
	return out
}

// replaceWords rebuilds text with the words at spans replaced by words, in order.
func replaceWords(text string, spans []evaltext.Span, words []string) string {
	var b strings.Builder
	last := 0
	for i, sp := range spans {
		b.WriteString(text[last:sp.Start])
		b.WriteString(words[i])
		last = sp.End
	}
	b.WriteString(text[last:])
	return b.String()
}
