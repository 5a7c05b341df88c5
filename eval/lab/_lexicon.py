"""Word lists for the static check, in en, zh, ro and bg, and the behaviours suggested in place of a trait.

Alphabetic entries are matched as whole words (lower case); an entry ending in ``*`` is a stem matched with any
ending (Romanian and Bulgarian inflect: ``empatic*`` covers empatic, empatică, empatici). Chinese entries are
matched as substrings. Each trait belongs to a *concept* so the suggestion can name a behaviour that shows it.
"""

from __future__ import annotations

__all__ = ["ACTORS", "AND_EXCEPTIONS", "AND_WORDS", "CONDITIONALS", "FEELINGS", "FREQUENCY", "GRADED_STARTS",
           "HOLISTIC", "HYPOTHETICAL", "KEEP_FROM", "NA_HINTS", "REPORTING", "SCOPE", "SOMETIMES", "TRAITS",
           "TRAIT_BEHAVIOURS", "TRAIT_EXCEPTIONS", "VAGUE", "YES_NO_STARTS"]

# Phrases that contain a trait word but name a concrete practice.
TRAIT_EXCEPTIONS = ["warm transfer", "warm handoff", "warm hand-off", "positive id", "positive identification"]
# Traits of the agent, by concept: the question asks what the agent *is*, not what the agent *did*.
TRAITS: dict[str, list[str]] = {
    "empathy": ["empathetic", "empathic", "empathy", "empathise", "empathize", "caring", "compassionate",
                "sympathetic", "同理心", "共情", "体贴", "关心", "empatic*", "empatie",
                "înțelegător*", "емпати*", "съчувств*"],
    "professional": ["professional", "professionally", "professionalism", "unprofessional", "competent",
                     "knowledgeable", "专业", "profesionist*", "profesional*", "профессионал*", "професионал*",
                     "компетентн*"],
    "friendly": ["friendly", "warm", "warmly", "pleasant", "cheerful", "nice", "友好", "热情", "亲切",
                 "prietenos*", "prietenoas*", "amabil*", "приятелск*", "дружелюб*", "любезн*"],
    "polite": ["polite", "politely", "courteous", "respectful", "rude", "impolite", "礼貌", "客气", "尊重",
               "politicos*", "politicoas*", "respectuos*", "учтив*", "вежлив*"],
    "transparent": ["transparent", "transparency", "honest", "透明", "坦诚", "transparent*", "sincer*",
                    "прозрачн*", "честн*"],
    "attitude": ["attitude", "good attitude", "positive", "态度", "atitudine*", "отношение*"],
    "patient": ["patiently", "impatient", "patience", "be patient", "was patient", "remained patient", "耐心",
                "răbdător*", "răbdăto*", "търпелив*"],
    "helpful": ["helpful", "unhelpful", "有帮助", "util", "utilă", "полезен", "полезна"],
    "tone": ["tone", "manner", "demeanor", "demeanour", "语气", "口吻", "ton", "tonul", "тон", "тона"],
}
# A judgement of the whole conversation rather than a behaviour in it.
HOLISTIC = ["handled well", "handle it well", "good job", "did well", "did a good job", "quality", "good service",
            "处理得好", "服务好", "表现好", "服务质量", "calitate*", "качеств*"]
# Inner states: not visible unless someone *says* them (see REPORTING).
FEELINGS = ["satisfied", "dissatisfied", "happy", "unhappy", "pleased", "frustrated", "upset", "angry", "delighted",
            "满意", "开心", "高兴", "不满", "生气", "mulțumit*", "supărat*", "доволен", "доволна", "недоволен",
            "ядосан*"]
REPORTING = ["say", "said", "says", "state", "stated", "express", "expressed", "mention", "mentioned", "tell",
             "told", "write", "wrote", "confirm", "confirmed", "thank", "thanked", "说", "表示", "提到", "确认",
             "spune*", "spus", "a confirmat", "каза", "казва", "потвърди*"]
# Questions about what would happen, not what did.
HYPOTHETICAL = ["would the customer", "will the customer", "would a customer", "would the seeker",
                "would they", "will they", "客户会", "客户是否会", "ar fi clientul", "ar fi mulțumit",
                "би ли", "ще бъде"]
# Evaluative words with no stated standard.
VAGUE = ["well", "properly", "appropriately", "appropriate", "adequately", "adequate", "effectively", "effective",
         "efficiently", "efficient", "clearly", "quickly", "promptly", "timely", "good", "bad", "unnecessary",
         "sufficient", "sufficiently", "reasonable", "恰当", "得体", "合适", "及时", "迅速", "有效", "清楚", "良好",
         "bine", "corespunzător", "adecvat*", "eficient*", "rapid", "добре", "подходящ*", "ефективн*", "бързо"]

ACTORS = ["agent", "agents", "helpdesk", "supporter", "representative", "rep", "advisor", "adviser", "operator",
          "associate", "staff", "employee", "consultant", "customer", "client", "caller", "seeker", "user",
          "客服", "坐席", "座席", "代理", "代理人", "客服代表", "顾问", "工作人员", "员工", "客户", "顾客", "用户",
          "agent*", "operator*", "consultant*", "client*", "reprezentant*", "агент*", "оператор*", "консултант*",
          "служител*", "клиент*", "представител*"]

FREQUENCY = {
    "always": ["always", "every", "at all times", "every time", "each time", "constantly", "consistently", "总是",
               "始终", "一直", "每次", "întotdeauna", "mereu", "de fiecare dată", "винаги", "всеки път"],
    "never": ["never", "at no point", "at no time", "从不", "从来不", "从未", "niciodată", "никога"],
}
# Words that bound an "always"/"never" to a part of the conversation.
SCOPE = ["in", "during", "throughout", "before", "after", "when", "whenever", "once", "until", "within", "在",
         "期间", "之前", "之后", "时", "în", "după", "înainte", "în timpul", "по време", "след", "преди", "когато"]

# Behaviours that happen only in some conversations: asked everywhere, they need an N/A answer.
SOMETIMES = ["escalat*", "supervisor", "manager", "transfer*", "refund*", "on hold", "callback", "call back",
             "call-back", "cancel*", "cancellation", "verify identity", "verified the identity", "identity check",
             "upgrade*", "replacement", "compensation", "interrupt*", "voicemail",
             "退款", "转接", "升级", "取消", "回电", "补偿", "rambursa*", "transfera*", "escalad*",
             "anula*", "възстановяване", "прехвърл*", "ескалир*"]
KEEP_FROM = ["keep from", "avoid", "refrain", "without", "不要", "避免", "fără", "без"]
CONDITIONALS = ["if", "whenever", "in case", "when the customer", "when the caller", "如果", "若", "当客户",
                "dacă", "în cazul", "ако", "в случай"]
# A fitting applies_when per behaviour stem, in English (suggestions name the condition, the author translates).
NA_HINTS = {
    "escalat": "The customer asked for a supervisor, or the agent could not solve the problem themselves.",
    "supervisor": "The customer asked for a supervisor.",
    "manager": "The customer asked for a manager.",
    "transfer": "The request belongs to another team or department.",
    "refund": "The customer asked for a refund or a refund was due.",
    "on hold": "The agent put the customer on hold.",
    "callback": "A callback was requested or promised.",
    "call back": "A callback was requested or promised.",
    "cancel": "The customer asked to cancel.",
    "verify identity": "The customer asked about account-specific data.",
    "interrupt": "The conversation is a phone call transcript.",
    "upgrade": "The customer asked about a different plan or product.",
    "replacement": "The product was faulty or did not arrive.",
    "compensation": "The company was at fault for the problem.",
    "退款": "客户要求退款。",
    "转接": "客户的问题需要其他部门处理。",
}

AND_WORDS = {"en": [r"\band\b", r"\bas well as\b", r"\bboth\b"], "zh": ["并且", "而且", "以及", "且", "和", "并"],
             "ro": [r"(?<![\w-])și(?![\w-])"], "bg": [r"(?<!\w)и(?!\w)"]}
# "and" inside these is not a second behaviour.
AND_EXCEPTIONS = ["terms and conditions", "back and forth", "back-and-forth", "pros and cons", "and/or", "between",
                  "more and more", "温和", "和蔼", "和解", "并非", "并不", "合并", "并没有"]

YES_NO_STARTS = {"en": ["did", "does", "do", "was", "were", "is", "are", "has", "have", "had", "can", "could",
                        "will", "would", "should"],
                 "zh": ["是否", "有没有", "有无", "吗", "是不是"],
                 "ro": ["a", "au", "este", "sunt", "s-a", "și-a", "i-a", "l-a", "le-a", "v-a"],
                 "bg": [" ли", "дали "]}
GRADED_STARTS = {"en": ["how", "to what extent", "how well", "how much", "how clearly", "what", "which"],
                 "zh": ["如何", "怎么样", "怎样", "多大程度", "程度", "多好"],
                 "ro": ["cât de", "cum", "în ce măsură"],
                 "bg": ["колко", "как", "до каква степен"]}

# Behaviour wordings that show a trait, by concept and language (en is the fallback).
TRAIT_BEHAVIOURS: dict[str, dict[str, str]] = {
    "empathy": {
        "en": "Did the agent say in their own words which part of the customer's problem they understand (more "
              "than a generic apology)?",
        "zh": "客服是否用自己的话说出了他理解客户问题的哪一部分（不只是套话式的道歉）？",
        "ro": "A spus agentul, cu propriile cuvinte, ce parte din problema clientului înțelege (mai mult decât o "
              "scuză generică)?",
        "bg": "Каза ли агентът със свои думи коя част от проблема на клиента разбира (повече от общо извинение)?"},
    "professional": {
        "en": "Did the agent keep from using the forbidden phrases listed in the guidance? (one criterion per "
              "behaviour that 'professional' stands for: accurate facts, no slang, no blame…)",
        "zh": "客服是否没有使用指南中列出的禁用语？（“专业”包含的每个行为各写一条：信息准确、不用俚语、不指责客户…）",
        "ro": "A evitat agentul expresiile interzise din ghid? (câte un criteriu pentru fiecare comportament din "
              "„profesionist”)",
        "bg": "Избегна ли агентът забранените изрази от насоките? (по един критерий за всяко поведение зад "
              "„професионален“)"},
    "friendly": {
        "en": "Did the agent greet the customer by name or thank them for getting in touch?",
        "zh": "客服是否称呼了客户的名字或感谢客户的来信/来电？",
        "ro": "L-a salutat agentul pe client pe nume sau i-a mulțumit că a luat legătura?",
        "bg": "Поздрави ли агентът клиента по име или му благодари, че се е свързал?"},
    "polite": {
        "en": "When the agent asked the customer to do something, did the agent say 'please' or thank them?",
        "zh": "客服在请客户做某事时，是否说了“请”或表示了感谢？",
        "ro": "Când i-a cerut clientului să facă ceva, a spus agentul „vă rog” sau i-a mulțumit?",
        "bg": "Когато помоли клиента да направи нещо, каза ли агентът „моля“ или му благодари?"},
    "transparent": {
        "en": "Did the agent tell the customer the reason for the decision or delay (e.g. which policy applies)?",
        "zh": "客服是否告诉了客户做出该决定或延误的原因（例如适用哪条政策）？"},
    "attitude": {
        "en": "Did the agent keep from saying or implying that the problem was the customer's fault?",
        "zh": "客服是否没有说或暗示问题是客户的错？",
        "ro": "A evitat agentul să spună sau să sugereze că problema era vina clientului?",
        "bg": "Избегна ли агентът да каже или намекне, че проблемът е по вина на клиента?"},
    "patient": {
        "en": "When the customer asked the same thing again, did the agent answer it without pointing out that "
              "it had been asked before?",
        "zh": "客户重复提问时，客服是否直接回答，而没有指出客户已经问过？"},
    "helpful": {
        "en": "Did the agent offer an actionable solution or a follow-up timeline?",
        "zh": "客服是否提供了可执行的解决方案或后续跟进的时间？"},
    "tone": {
        "en": "Did the agent keep from using the forbidden phrases listed in the guidance (e.g. 'calm down', "
              "'that's not my job')?",
        "zh": "客服是否没有使用指南中列出的禁用语（例如“冷静一点”“这不是我的工作”）？"},
    "holistic": {
        "en": "Name the behaviour that 'well' stands for, one per criterion, e.g. 'Did the agent offer an "
              "actionable solution or a follow-up timeline?'",
        "zh": "把“好”拆成可观察的行为，每条一个，例如：客服是否提供了可执行的解决方案或后续跟进的时间？"},
    "feeling": {
        "en": "Ask what the customer said, not what they felt: 'Did the customer say the problem was solved or "
              "thank the agent for the help?'",
        "zh": "问客户说了什么，而不是感受：客户是否表示问题已解决或感谢了客服的帮助？",
        "ro": "Întrebați ce a spus clientul, nu ce a simțit: „A spus clientul că problema s-a rezolvat sau i-a "
              "mulțumit agentului?”",
        "bg": "Питайте какво каза клиентът, а не какво почувства: „Каза ли клиентът, че проблемът е решен, или "
              "благодари ли на агента?“"},
}
