"""Word lists for the static check (en, zh, ro, bg). Lower-case; matched on word boundaries for alphabetic scripts."""

from __future__ import annotations

__all__ = ["ACTORS", "FREQUENCY", "QUESTION_STARTS", "SOMETIMES", "TRAITS"]

TRAITS = {
    "en": ["empathetic", "empathy", "professional", "professionally", "friendly", "polite", "courteous",
           "transparent", "good attitude", "attitude", "caring", "warm", "helpful", "positive", "respectful",
           "handled well", "good job", "satisfied", "quality", "tone", "manner"],
    "zh": ["同理心", "专业", "友好", "态度", "礼貌", "热情", "耐心", "满意", "服务好"],
    "ro": ["empatic", "empatie", "profesionist", "profesional", "prietenos", "politicos", "atitudine"],
    "bg": ["емпатия", "емпатичен", "професионален", "професионално", "приятелски", "учтив", "отношение"],
}
ACTORS = ["agent", "helpdesk", "supporter", "representative", "advisor", "rep", "staff", "customer", "seeker",
          "caller", "客服", "坐席", "客户", "agentul", "operatorul", "clientul", "агент", "агентът", "операторът",
          "клиентът", "служителят"]
FREQUENCY = {"en": ["always", "never", "every time", "at all times", "constantly"],
             "zh": ["总是", "从不", "始终", "每次"], "ro": ["întotdeauna", "niciodată", "mereu"],
             "bg": ["винаги", "никога"]}
SOMETIMES = ["escalat", "transfer", "refund", "hold", "callback", "call back", "supervisor", "verify identity",
             "verified the identity", "apologi", "upgrade", "cancel", "interrupt", "退款", "转接", "升级"]
QUESTION_STARTS = ["did", "does", "do", "was", "were", "is", "are", "has", "have", "had", "would", "could", "can",
                   "how", "what", "which", "to what extent", "before", "in their", "after", "when", "by the end"]
