//! The support questions the generator draws from. Each intent has its question, a
//! hand-written rewording (the "hard" rephrase, sharing few words) and a family: intents of
//! one family differ in a word or two ("change my email address" / "change my billing
//! address"), the near misses a lexical signal can mistake for a rephrase.

pub struct Intent {
    pub topic: &'static str,
    pub family: &'static str,
    pub question: &'static str,
    pub reworded: &'static str,
}

const fn i(
    topic: &'static str,
    family: &'static str,
    question: &'static str,
    reworded: &'static str,
) -> Intent {
    Intent {
        topic,
        family,
        question,
        reworded,
    }
}

pub const INTENTS: &[Intent] = &[
    i(
        "billing",
        "address",
        "how do i change my billing address",
        "where can i edit the address that appears on my invoices",
    ),
    i(
        "account",
        "address",
        "how do i change my email address",
        "i want to use a different email for login, where is that setting",
    ),
    i(
        "orders",
        "address",
        "how do i change the shipping address of my order",
        "my parcel should go somewhere else, can you update where it ships",
    ),
    i(
        "billing",
        "document",
        "where can i download my invoice for last month",
        "i need a pdf of last month's bill for accounting",
    ),
    i(
        "billing",
        "document",
        "where can i download my receipt for last month",
        "i need proof of payment from last month as a file",
    ),
    i(
        "billing",
        "card",
        "why was my card declined",
        "the payment did not go through with my visa, what happened",
    ),
    i(
        "billing",
        "card",
        "why was my card charged twice",
        "i see two identical payments on my statement for one order",
    ),
    i(
        "billing",
        "plan",
        "how do i cancel my subscription",
        "i no longer want the service, how do i end it",
    ),
    i(
        "billing",
        "plan",
        "how do i pause my subscription",
        "can i put my membership on hold for a couple of months",
    ),
    i(
        "billing",
        "plan",
        "how do i upgrade my subscription to the pro plan",
        "what steps get me from the basic tier to pro",
    ),
    i(
        "billing",
        "currency",
        "can i pay my invoice in euros instead of dollars",
        "is it possible to settle the bill using eur",
    ),
    i(
        "billing",
        "refund",
        "how long does a refund take to arrive",
        "when will the money you returned show up on my card",
    ),
    i(
        "billing",
        "refund",
        "how do i request a refund for a damaged item",
        "something arrived broken and i want my money back",
    ),
    i(
        "billing",
        "vat",
        "how do i add my vat number to invoices",
        "our tax id is missing on the bills, where do we enter it",
    ),
    i(
        "account",
        "password",
        "how do i reset my password",
        "i forgot my login credentials and cannot sign in",
    ),
    i(
        "account",
        "password",
        "how do i change my password",
        "i would like to pick a new secret for signing in",
    ),
    i(
        "account",
        "2fa",
        "how do i turn on two factor authentication",
        "i want an extra code step when logging in for security",
    ),
    i(
        "account",
        "2fa",
        "how do i turn off two factor authentication",
        "the extra login code is annoying, can it be disabled",
    ),
    i(
        "account",
        "delete",
        "how do i delete my account and all my data",
        "please erase everything you store about me permanently",
    ),
    i(
        "account",
        "team",
        "how do i invite a colleague to my team",
        "a coworker needs access to our workspace, how do i add them",
    ),
    i(
        "account",
        "team",
        "how do i remove a colleague from my team",
        "someone left the company and should lose access to our workspace",
    ),
    i(
        "orders",
        "track",
        "where is my order it has not arrived yet",
        "the package i bought last week is still missing",
    ),
    i(
        "orders",
        "track",
        "how do i track my order",
        "is there a page that shows where my parcel is right now",
    ),
    i(
        "orders",
        "return",
        "how do i return an item i bought",
        "i want to send something back, what is the procedure",
    ),
    i(
        "orders",
        "return",
        "how do i exchange an item for a different size",
        "the shoes are too small, can i swap them for bigger ones",
    ),
    i(
        "orders",
        "cancel",
        "can i cancel an order that has already shipped",
        "the parcel left the warehouse but i do not want it anymore",
    ),
    i(
        "orders",
        "gift",
        "can i add a gift message to my order",
        "i want a personal note included with the present",
    ),
    i(
        "tech",
        "export",
        "how do i export my data to a csv file",
        "i need a spreadsheet with all my records",
    ),
    i(
        "tech",
        "export",
        "how do i import data from a csv file",
        "i have a spreadsheet, how do i load it into the app",
    ),
    i(
        "tech",
        "api",
        "where do i find my api key",
        "which token do i use to call your service from code",
    ),
    i(
        "tech",
        "api",
        "why does the api return a 429 error",
        "my scripts keep getting rate limited, what is wrong",
    ),
    i(
        "tech",
        "app",
        "the mobile app crashes when i open settings",
        "whenever i tap preferences on my phone the application closes",
    ),
    i(
        "tech",
        "app",
        "the mobile app does not sync with the website",
        "changes made on my phone never show up in the browser",
    ),
    i(
        "tech",
        "notify",
        "how do i turn off email notifications",
        "you send me too many mails, how do i stop them",
    ),
    i(
        "tech",
        "integrate",
        "how do i connect my account to slack",
        "can your tool post messages into our chat workspace",
    ),
    i(
        "tech",
        "dark",
        "is there a dark mode in the app",
        "can the interface use a black background at night",
    ),
];

/// Phrase swaps a user makes when asking again: (from, to), applied where `from` occurs.
pub const SWAPS: &[(&str, &str)] = &[
    ("how do i", "how can i"),
    ("how do i", "what is the way to"),
    ("change", "update"),
    ("cancel", "stop"),
    ("invoice", "bill"),
    ("download", "get"),
    ("delete", "remove"),
    ("order", "purchase"),
    ("colleague", "coworker"),
    ("turn off", "disable"),
    ("turn on", "enable"),
    ("where is", "what happened to"),
    ("does not", "doesn't"),
    ("mobile app", "phone app"),
    ("item", "product"),
    ("subscription", "plan"),
    ("my", "the"),
];

/// What a user puts before a question asked again, and after it.
pub const PREFIXES: &[&str] = &[
    "that did not help,",
    "no,",
    "i mean",
    "sorry, again:",
    "let me ask differently:",
    "still stuck:",
    "you did not answer my question,",
    "ok but",
    "hmm,",
];
pub const SUFFIXES: &[&str] = &[
    "please",
    "asap",
    "on the website",
    "from the app",
    "for my company account",
    "i tried already",
    "?",
];
