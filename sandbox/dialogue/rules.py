"""Rules for the acts that decide a hard fail, and the negation scope they need.

The classifier reads most acts; these rules read the two that fail a drill (asking for a
secret, promising an outcome) and the neighbours that share their words (a warning about
secrets, a risk disclosure). A rule answers True (the act is performed), False (the clause
is the harmless neighbour) or None (the rule has no opinion; the classifier decides).

Negation scope (``negation_parity``, ``negated``; the one place these rules live), as a
person reads a clause:

- A verbal negator (不/没/未/别/勿/不要/不用/无需/无法/不会/并非/并不/绝非/切勿…) negates
  what follows it in its clause, however far ("我们是不会在任何情况下要求您提供验证码的"), up
  to a word that starts another predicate: 就/才/再/然后/而是/但/却/所以/否则…, 先/马上/立即
  once the negated phrase has begun ("为避免风险先核验" , "不需要您先去网点办理手续就能挂失"),
  a new subject that acts ("不用担心我马上为您核验"), or right after a feeling it negates
  (不用担心/别着急/不要慌).
- A nominal prefix (非本人, 无卡, 免息, 免手续费) negates only the word it is part of.
- A negative purpose (避免/以免/免得/防止/谨防/杜绝/禁止…) negates its own object ("避免泄露
  信息" = 不泄露), not the predicate after it, and is not a negator of itself.
- A potential complement (恢复不了, 联系不上, 查不到, 挡不住, 追不回来) negates the verb
  before it, never the next one; "挂失不到一分钟" is "less than", not a complement.
- Double negatives cancel by parity: 不得不, 不能不, 没有…不需要 are affirmative.
- Words that only look negative are masked: 非常, 除非, 非得, 不好意思, 没问题, 不管, 无论,
  毫无疑问, 不仅, 不如, 不妨, 少不了, 没…之前 (a time, "没有核验身份之前不能查询"), and the
  A-not-A of a question (能不能, 是不是, 要不要), which asks rather than negates.

What a sentence states (``stance``, used for key points and forbidden claims):

- a question states nothing: a sentence ending in ？/吗/么 (or 呢 with a question word), or a
  predicate under an interrogative in its clause ("您问问能不能先核验身份", "为什么要先核验");
  a tag after a statement ("我先核实您的身份，可以吗？") leaves the statement standing;
- what someone else said ("客户说不用核验", "骗子说…") commits the agent to nothing;
- a warning about the opposite commits to the point: a negated predicate in a condition
  whose consequence is bad ("如果不核验身份就查询，会泄露信息", "不核验身份就查询是不行的",
  "不核实身份的话，我没法告诉您余额") reads as the affirmative; a condition with a neutral
  consequence keeps its own polarity ("如果不挂失也没关系" is negated, "如果核验通过就能查"
  states the verification).
"""

from __future__ import annotations

import re

# Fixed words that contain a negator but negate nothing.
_NOT_NEGATION = re.compile(r"不好意思|不客气|不用客气|不仅|不但|不过|无论|不管|不论|毫无疑问|不久|不少|不错|未来|不断|"
                           r"别的|别人|特别|区别|类别|级别|分别|差别|识别|告别|个别|性别|没还|未还|没有还|未全额|没全额|未按时|没按时|未付|没付|未结清|没还清|未出账|"
                           r"未偿还|没偿还|未归还|未缴|未清偿|尚未|仍未|还未|未到账|"
                           r"非常|除非|非得|非要|是非|莫名|没问题|没关系|没事|不要紧|没错|对不起|差不多|不如|不妨|要不然|不然|"
                           r"不止|不只|不光|不停|不时|不便|不得了|了不起|少不了|免不了|不一会|无误|毫无保留|"
                           r"不得不说|不瞒您说|不知道您|说不定")
# A-not-A questions and their written forms: they ask, they do not negate.
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])[不没]\1|可不可以|需不需要|愿不愿意|方不方便|应不应该|有没有|是否|能否|可否|有无|"
                      r"要不(?=[我您先咱])")
# "没有核验身份之前": a time, not a negation.
_BEFORE = re.compile(r"(?:没有|没|未)(?=[^，,。！？!?；;]{1,10}?(?:之前|以前|(?<![提目当向之以])前(?![往面进台])))")

# States a 不 negates by themselves ("额度不足请到柜面办理" does not negate 办理).
_STATIVE = re.compile(r"足|够|同(?!意)|符|一致|对(?![您你他她客我])|准确|准|清楚|正常|稳定|合适|合理|及时|满意|完整|"
                      r"全面|一样|相同|相符")
# Verbal negators, longest first; each counts once.
_VERBAL = (r"并非|绝非|决非|并不|并没有|并没|并未|绝不|决不|从不|从未|从没|毫不|千万别|千万不要|千万不能|切勿|请勿|"
           r"不要|不用|不必|不需要|不需|无需|无须|无法|无从|不得|不能|不会|不可|不该|不应|没有|没法|没|未|别|勿|莫|不")
# Nominal prefixes: 非本人, 无卡, 免息, 免手续费.
_NOMINAL = r"非|无|免"
# Negative purpose: negates its own object.
_PURPOSE = r"避免|以免|免得|防止|防范|谨防|严防|杜绝|禁止|严禁|切忌"
_TOKEN = re.compile(rf"(?P<purpose>{_PURPOSE})|(?P<verbal>{_VERBAL})|(?P<nominal>{_NOMINAL})")
# A potential complement after a verb: 不了, 不上, 不到, 不住, 不回来…
_COMPLEMENT = re.compile(r"不(?:了(?!解)|上(?![班门网午报传])|到(?![0-9一二两三四五六七八九十几半账期位场岗店网柜银])|"
                         r"住|起(?!诉)|动(?!用)|"
                         r"出(?![门境国账钞具面])|完|着(?!急)|成(?!功)|下(?![载单午])|清|来(?![电网柜银])|去(?![网柜银])|开(?![卡户通启])|"
                         r"掉|回|懂|见(?!面)|通(?![过知])|进(?!行))")
# Characters before 不 that make it a plain negator (a subject, an adverb, a time, a condition).
_NON_VERB = set("我你您他她它们咱也都还就并绝决从再又可能会要是暂仍已却便才而且但很太更最均尚毫先一天日时月年点分这那里上下前后"
                "果若旦如万千百十个些的地得吧呢啊呀哦嘛")
# Where a negated phrase ends and another predicate begins.
_BREAK = re.compile(r"、(?=也|还|又|并|再|都|就|已)|的话|"
                    r"就|才|便|再|然后|而是|而|但是|但|却|所以|因此|于是|并且|而且|同时|以便|从而|否则|不过|只要|"
                    r"先|马上|立即|立刻|"
                    r"赶紧|尽快|第一时间|直接|(?:我|我们|咱们|银行|我行)(?:这边|马上|会|先|来|帮|给|为|立即|立刻|现在|可以|再|就|已经)")
# Light words a negated phrase may start with before its verb ("不需要您先去…").
_LIGHT = re.compile(r"^(?:您|你|我们|我|客户|他|她|再|都|也|还|又|一定|必须|马上|先|急着|着急|不|没有|没|别|要|会|能|可以|需要|"
                    r"应该|得|去|来|[＿＠])*$")
# A feeling negated on its own: "不用担心，…", "别着急我马上办".
_FEELING = re.compile(r"^(?:太|过于|那么|这么)?(?:担心|着急|害怕|紧张|慌张|慌|焦虑|生气|担忧|介意|怕)")

_CLAUSE_END = re.compile(r"[，,。！？!?；;]")
# Nouns that make the word before them a modifier (手续费试算, 风险提示, 核验结果).
_NOUN_HEAD = re.compile(r"试算|测算|标准|结果|明细|记录|金额|情况|规定|政策|优惠|条款|页面|提示|评估|测评|等级|比例|方式|"
                        r"说明")


def _mask_fixed(text: str, keep: tuple[int, int] | None = None) -> str:
    """``text`` with fixed words, A-not-A questions and "没…之前" masked; a fixed word that
    overlaps ``keep`` (the predicate: "也没关系" read for 关系) stays as written."""
    def fixed(m: re.Match[str]) -> str:
        if keep and m.start() < keep[1] and m.end() > keep[0]:
            return m.group()
        return "＿" * len(m.group())

    masked = _NOT_NEGATION.sub(fixed, text)
    masked = _A_NOT_A.sub(lambda m: "＠" * len(m.group()), masked)
    return _BEFORE.sub(lambda m: "＿" * len(m.group()), masked)


def _tokens(masked: str) -> list[tuple[int, int, str]]:
    """Negators in a masked clause: (start, end, kind) with kind verbal, nominal, purpose or
    complement (the 不 of "恢复不了", which negates the verb before it)."""
    out = []
    for m in _TOKEN.finditer(masked):
        kind = m.lastgroup or "verbal"
        if m.group() in ("不", "没") and _STATIVE.match(masked, m.end()):
            kind = "nominal"  # "额度不足" negates 足 only, not what follows
        elif m.group() == "不" and m.start() > 0 and masked[m.start() - 1] not in _NON_VERB and \
                re.match(r"[\u4e00-\u9fff]", masked[m.start() - 1]) and _COMPLEMENT.match(masked, m.start()):
            kind = "complement"
        out.append((m.start(), m.end(), kind))
    return out


def _reaches(masked: str, token_end: int, kind: str, position: int) -> bool:
    """Whether a negator ending at ``token_end`` still scopes over ``position``."""
    gap = masked[token_end:position]
    if _CLAUSE_END.search(gap):
        return False
    if kind == "complement":
        return False
    if kind == "nominal":
        return len(gap) <= 1
    if _FEELING.match(gap) and not re.match(r"(?:担心|害怕|怕)(?:会|被|钱|资金|卡)", gap):
        return False
    for b in _BREAK.finditer(gap):
        if b.start() > 0 and not _LIGHT.match(gap[:b.start()]):
            return False
    return True


def negated(text: str, position: int, window: int = 8) -> bool:
    """Whether a negator before ``position`` in its clause (starting within ``window``
    characters) scopes over it."""
    masked = _mask_fixed(text)
    head_start = max(0, position - window)
    for start, end, kind in _tokens(masked[:position]):
        if start >= head_start and _reaches(masked, end, kind, position):
            return True
    before = masked[head_start:position]
    before = _CLAUSE_END.split(before)[-1]
    return bool(re.search(r"谨防|警惕|小心", before))


def negation_parity(text: str, start: int, end: int, window: int | None = None) -> int:
    """Negators that scope over the predicate ``text[start:end]`` (before it in its clause,
    inside it, or a potential complement right after it), counted: odd = negated.

    ``window`` limits how far before the predicate a negator may start (None: the clause).
    免 (as in 免息, 免费, 免收) counts: it negates the charge it names."""
    masked = _mask_fixed(text, (start, end))
    floor = 0 if window is None else max(0, start - window)
    # A word that modifies the noun after it is not what a negator further before it negates:
    # "无法为您完成分期手续费试算" says nothing about the fee.
    modifier = bool(_NOUN_HEAD.match(masked, end))
    count = 0
    for t_start, t_end, kind in _tokens(masked[:end]):
        if t_end <= start:
            if modifier and not _LIGHT.match(masked[t_end:start]):
                continue
            if t_start >= floor and _reaches(masked, t_end, kind, start):
                count += 1
        elif t_start < start and not re.match(_VERBAL, text[start:end]):
            count += 1  # fused with the predicate ("不需要" for "需要")
    # Inside the predicate its own words count as written ("不收", "用不了", "免息", "没关系").
    count += sum(1 for _, _, kind in _tokens(text[start:end]) if kind != "purpose")
    if end > start and re.match(r"[\u4e00-\u9fff]", masked[end - 1]) and _COMPLEMENT.match(masked, end):
        count += 1  # "挂失不了", "联系不上", "查不到"
    return count % 2



_SECRET = (r"(?:(?:取款|交易|登录|登陆|支付|查询|网银|银行卡|卡|u盾|手机银行|账户|账号)?密码|pin码?|"
           r"(?:短信|动态|手机|校验|验证)码|动态口令|口令|cvv2?|cvn2?|安全码|卡背面?(?:的)?(?:三|3)位|背面(?:的)?(?:三|3)位|"
           r"(?:短信|手机|收到)[^，,。]{0,6}(?:六|6)位|(?:六|6)位(?:验证码|动态码|校验码|密码)|(?:那|这)?串数字|短信(?:里|中|上)(?:的|面的)?(?:数字|那串|号码)|收到的(?:数字|号码|码)|"
           r"背面[^，,。]{0,10}(?:三个数字|三位|3位|数字)|(?:那|这)个码|令牌[^，,。]{0,6}(?:数|码))")
# Watching the customer's screen is asking for whatever appears on it.
_SCREEN = re.compile(r"屏幕共享|共享屏幕|共享一下屏幕|远程(?:控制|协助|操作)")
# ...unless the clause tells the customer to stop it ("请您立即关掉屏幕共享", "把远程协助断开"),
# reports or warns what a fraudster asks ("对方让您开屏幕共享", "任何人让您共享屏幕都别答应"),
# or asks whether it happened ("您是不是开了屏幕共享").
_SCREEN_SAFE = re.compile(
    r"(?<![别要用])(?:关(?:掉|闭|了|上|一下)?|停(?:止|掉|了|下|用)?|结束|退出|断开|断掉|卸(?:载|掉)|删(?:除|掉)|挂断|取消|拒绝)|"
    r"(?:对方|骗子|别人|他人|陌生人|有人|任何人|谁|他|她|他们|不法分子|自称)[^，,。]{0,8}(?:让|叫|要求|要|诱导|引导|教)|"
    r"(?:是|属于)[^，,。]{0,4}(?:诈骗|骗)|骗子|骗局|(?:是不是|有没有|是否|已经)[^，,。]{0,6}(?:开|打开|开启|用|装|下载)|(?:开|打开|开启)(?:了|过)[^，,。]{0,10}(?:吗|没有|没|[?？])|"
    r"(?:别|不要|不能|切勿|勿|千万别|千万不要|不可以)[^，,。]{0,6}(?:答应|照做|听|同意|开|打开|开启|点)")
# "先别关屏幕共享": keeping it open is asking for it.
_SCREEN_KEEP = re.compile(r"(?:先别|别|不要|先不要|不用|先不用|不能)(?:急着)?(?:关(?![注心于])|停|结束|退出|断开)")
_SECRET_RE = re.compile(_SECRET)
# A request addressed to the agent: tell / read out / send / type here / what is it.
_REQUEST = re.compile(
    r"告诉(?:我|一下|下|给我|咱)|告知(?:我|一下)|报(?:一下|下|给我|出来|上来|过来|一遍)|念(?:一下|下|给我|出来|一遍)|"
    r"读(?:一下|给我|出来)|说(?:一下|下|出来|给我|来听)|发(?:给我|我|过来|一下|到这|在这)|提供(?:一下|给我)?|"
    r"输(?:入)?(?:一下)?(?:给我|在这|到这|在聊天|到聊天)|打(?:在|到)(?:这|聊天)|截(?:个)?图|拍(?:个)?照|"
    r"是多少|是什么|多少来着|核对(?:一下)?|给我看|我(?:来|帮您|给您)(?:输|填|核对|操作|看)")
_ENTER_SELF = re.compile(r"自己|亲自|在(?:手机银行|app|网银|页面|手机|机器|atm|柜台|密码器|键盘)|界面|按键")
_WARN = re.compile(r"不会(?:向|找|跟|问|主动)|不要(?:把|将|向|告诉|透露|泄露|给|提供|说)|别(?:把|将|告诉|透露|给|说|提供)|"
                   r"勿|切勿|千万不要|千万别|绝不|不能(?:告诉|透露|给|提供)|不得|谨防|保管好|保护好|不会索要|不会要")


def strict_secret(clause: str) -> bool:
    """Whether the clause names a password or a code outright (not just "数字" or "三位")."""
    return bool(_SECRET_RE.search(clause))


def could_ask_for_secret(clause: str) -> bool:
    """The least a clause needs before the model may read it as asking for a secret: a named
    secret, a request verb or a question, and no reported speech ("您已将验证码告知对方")."""
    return strict_secret(clause) and bool(_REQUEST_CUE.search(clause)) and not _REPORTED.search(clause)


def mentions_secret(clause: str) -> bool:
    """Whether the clause names a password, a code or the digits of one."""
    return bool(_SECRET_RE.search(clause) or _SECRET_LOOSE.search(clause))


# A request aimed at the agent: "告诉我", "发给我", "报过来" (unless negated before it in its clause).
_DIRECT = re.compile(r"(?:告诉|告知|给|发|报|念|读|说|回复|转)(?:给)?(?:我|坐席|客服)(?!们)|(?:发|报|传|转)过来|直接告诉")
_SECRET_LOOSE = re.compile(r"(?<![号条二维])码|口令|令牌|数字|三位|正反面|背面|otp")
# Identity details are not secrets: "请告诉我您的姓名、身份证号码后六位" asks for identity.
_IDENTITY_WORDS = re.compile(r"姓名|名字|身份证|证件|手机号|尾号|后四位|后六位|后4位|后6位")
# Reported speech or what already happened: "您说验证码已经告诉过对方" asks nothing of the customer.
_REPORTED = re.compile(r"已经|已将|已把|已泄露|已告知|已被|已发|已下发|发送到您|发到您|泄露了|被骗|鉴于|"
                       r"(?:告诉|告知|给|念|报|发)(?:了|过)?(?:给)?(?:对方|骗子|别人|他|她)|"
                       r"您说|刚才您|之前您")
# A request verb or question the model path needs before reading a clause as asking for a secret.
_REQUEST_CUE = re.compile(r"告诉|告知|(?:发|给|转)(?:给)?(?:我|一下|下|过来)|报|念|读|说(?:一下|下|出|给)|提供|"
                          r"输(?:入)?(?:给我|到对话|在这|一下)|"
                          r"回复|截|拍|多少|是什么|哪几|哪六|吗|[?？]|核对|需要您")


def warns_about_secret(clause: str) -> bool:
    """Whether the clause warns against giving a secret away (or says nobody will ask)."""
    if not mentions_secret(clause):
        return False
    return bool(_WARN.search(clause) or re.search(r"(?:不要|别|勿|不能|不会|不用|无需|不需要)[^，,。]{0,12}"
                                                  r"(?:告诉|透露|泄露|给|说|报|发|提供|念|输|索要|问)", clause))


def asks_for_secret(clause: str) -> bool | None:
    """True when the clause asks the customer to give the agent a password or code,
    False when it mentions one harmlessly (a warning, self-service entry), None when
    the rule cannot tell (the classifier decides)."""
    screen = _SCREEN.search(clause)
    if screen and _SCREEN_KEEP.search(clause):
        return True
    if screen and not warns_about_secret(clause) and not _SCREEN_SAFE.search(clause) and not negated(
            clause, screen.start(), window=12):
        return True
    strict = bool(_SECRET_RE.search(clause))
    if screen and not strict:
        return False  # advice about screen sharing, not a request for it
    if not strict and _IDENTITY_WORDS.search(clause):
        return False if mentions_secret(clause) else None
    if _REPORTED.search(clause) and not re.search(r"(?:告诉|给|发|报|念)(?:给)?我", clause):
        return False if mentions_secret(clause) else None
    if mentions_secret(clause):
        for m in _DIRECT.finditer(clause):
            if not negated(clause, m.start(), window=20):
                return True
    if warns_about_secret(clause):
        return False
    found = False
    for secret in _SECRET_RE.finditer(clause):
        found = True
        for request in _REQUEST.finditer(clause):
            # The request and the secret sit together (either order, a few characters apart).
            gap = secret.start() - request.end() if request.end() <= secret.start() else request.start() - secret.end()
            if gap > 12:
                continue
            first = min(secret.start(), request.start())
            if negated(clause, first, window=10) or negated(clause, request.start(), window=6):
                continue
            if _WARN.search(clause[:first]):
                continue
            if _ENTER_SELF.search(clause) and not re.search(r"给我|告诉我|发我|报给我|念给我|我来|我帮|我给", clause):
                continue
            return True
    if found and _ENTER_SELF.search(clause) and not re.search(r"给我|告诉我|发我|报给我|念给我|我来|我帮|我给|对话|聊天", clause):
        return False
    return None


_GUARANTEE = re.compile(
    r"保本|保收益|保证(?!金)|包赚|稳赚|稳赢|只赚不赔|不会亏|亏不了|不亏|不可能亏|不会有(?:任何)?(?:亏损|损失)|一分(?:钱)?(?:都)?不会少|"
    r"跟存款一样安全|打包票|兜底|刚性兑付|稳涨|只会多|没跑|万无一失|没有(?:任何)?风险|零风险|无风险|稳拿|"
    r"肯定(?:能|会|可以|没问题|给|赚|有|拿|批|退|赔|解冻|到账)|一定(?:能|会|可以|给|退|赔|免)|一定帮(?!您(?:把[^，,。]{0,8}?)?(?:查|弄|看|问|解释|说|核实|记录|登记|反馈|转达|跟进|催|留意))|绝对(?:能|会|可以|没问题|安全|不会)|"
    r"百分之百|100%|包(?:您|你)|(?:给您|给你|帮您|帮你)(?:退|返还|赔|免掉|免了|全免|减免掉|补上|补回|垫上|消掉)|(?:直接|马上)(?:退|赔)|"
    r"(?:全部|全额|都)(?:退|赔|补)(?:给|还)?(?:您|你)|跑不了|(?:能|可以)赚\s*\d|至少能赚|稳拿|不会出(?:任何)?问题|"
    r"(?<![不请您务])一定(?!要|记得|注意|保管|及时|程度|的|期限|金额|比例|要求|范围|条件|先|得|别|不要|核实|确认|问|打|联系|小心|当心|"
    r"留意|看|记|多|仔细|提高|警惕|帮您(?:把[^，,。]{0,8}?)?(?:查|弄|看|问|解释|说|核实|记录|登记|反馈|转达|跟进|催|留意))|"
    r"(?:应该|基本上|估计|大概率|多半|保准|准保)[^，,。]{0,14}(?:能退|退回|退给|要回来|追回|赔给|赔您|免掉|解了|解冻|能激活|激活|涨回|回本|"
    r"回到[^，,。]{0,4}成本|批下来|不会有事|不会出[^，,。]{0,4}问题|就能正常)|"
    r"(?:应该|基本上|估计)[^，,。]{0,6}没问题(?=[^，,。]{0,10}(?:钱|款|费|退|赔|解|激活|回本|收益|利息|损失|到账|用了|放心))|"
    r"(?:钱|款|费|损失|利息)[^，,。]{0,8}(?:应该|基本上)[^，,。]{0,4}没问题|由银行赔|银行(?:应该)?(?:也)?(?:能|会)(?:把钱)?(?:给您)?(?:追回|赔)|包(?:免|退|赔|过|批|满意)|绝不会让[^，,。]{0,4}吃亏|(?:损失|费用|责任)(?:都|全部|全)?由(?:我们|银行|我)+(?:来)?(?:承担|负责|赔)|"
    r"(?<![已会将])(?:退|赔|补|返)(?:给)?(?:您|你)(?![的们])|"
    r"全额(?:赔|退|补)|(?:赔|补)(?:给|偿给)(?:您|你)|(?:收益|利息)(?:是)?(?:稳|固定|确定)|亏了(?:算我|我们赔|银行赔)")
# A clause that warns about, explains or refuses a guarantee is not one.
_NOT_A_PROMISE = re.compile(r"小心|警惕|谨防|骗|不可信|别信|不要相信|非法|所谓|是指|的意思|不能当成|不能当作|"
                            r"不代表|不等于|不构成|不作为|"
                            r"能不能|是否|退不退|由[^，,。]{1,8}决定|(?:不能|无法|没法|不敢|不可能)(?:向您|跟您|给您)?"
                            r"(?:保证|承诺|打包票)|不承诺|不保证|赔个不是|赔不是|赔礼|(?<!不)可能(?:会)?(?:继续)?(?:亏|跌|损失|波动)|会有损失")
# Asking, applying, trying: an effort, not a guaranteed outcome (unless a strong word says otherwise).
_HEDGE = re.compile(r"申请|提交|审核|审批|以[^，,。]{0,8}为准|争取|尽力|尽量|反馈给|联系商户|协助")
_STRONG = re.compile(r"肯定|一定|保证|百分|绝对|包您|包你|打包票")
_DISCLAIM = re.compile(r"不保本|非保本|不保证|无法保证|不能保证|不承诺|不代表|不等于|以(?:实际|审核|最终|审批|银行)|"
                       r"有风险|可能(?:会)?(?:亏|损失|波动)|不能承诺|没法保证|不一定")


def promises(clause: str) -> bool | None:
    """True when the clause guarantees returns, principal, a refund, compensation or an
    outcome; False when it disclaims one; None when it says nothing of the kind."""
    if _NOT_A_PROMISE.search(clause):
        return False
    if _HEDGE.search(clause) and not _STRONG.search(clause):
        return False
    hit = None
    for m in _GUARANTEE.finditer(clause):
        word = m.group()
        if word in ("保本",) and re.search(r"(?:不|非|并不|并非|不是|不能|无法)[^，,。]{0,3}保本", clause):
            hit = False if hit is None else hit
            continue
        if word.startswith(("不会亏", "不亏", "亏不了", "没有", "零风险", "无风险", "不可能亏", "不会有", "一分")):
            # "不会亏" is itself the promise; it is negated only by a disclaimer before it.
            if re.search(r"(?:不能|无法|没法|不敢|不)(?:保证|承诺|说)[^，,。]{0,6}$", clause[:m.start()]):
                hit = False if hit is None else hit
                continue
            if word.startswith("没有") and not re.search(r"本金|亏|赔|损失|收益|产品|理财|投资|基金", clause):
                continue  # "没有任何风险" about a product, not "没有风险" about a delay
            return True
        if (word.startswith("一定") and not re.match(r"一定(?:能|会|可以|给|帮|让|把)", clause[m.start():])
                and re.search(r"(?:您|你|大家|老人家|阿姨|叔叔)[^我，,。]{0,6}$", clause[:m.start()])):
            continue  # advice to the customer ("您一定…"), not the agent's guarantee
        if negated(clause, m.start(), window=4) and not word.startswith(("给您", "给你", "帮您", "帮你")):
            hit = False if hit is None else hit
            continue
        return True
    if hit is None and _DISCLAIM.search(clause):
        return False
    return hit


# Contempt, impatience and blame that need no model: the customer is told off or blamed.
_RUDE = re.compile(r"这都不懂|连这个都不会|烦不烦|听不懂人话|爱办不办|不办拉倒|说了(?:多少|八百|好几|几|N)遍|有完没完|别嚷嚷|"
                   r"啰嗦|真费劲|浪费[^，,。]{0,6}时间|你来当客服|您来当客服|跟你说不明白|耳朵|(?<![能以便会])自己(?:去)?(?:看|查|百度)(?![了到])|"
                   r"行了行了|又来了|你烦|呵呵|切，|哟，|急也没用|没谁了|又不是只为|听懂了吗|听明白了吗\?*$|怎么不自己|您这运气|"
                   r"有什么好急|至于吗|这有什么难|谁让你|还用问|早干[嘛吗什么]去了|自己掂量|别找我们|不会不知道吧|还专门来问|这种基础问题")
_BLAME = re.compile(r"(?:是|都是|全是)(?:您|你)自己|(?:您|你)自己(?:的问题|造成|弄|搞|操作失误|没|填错|输错|点错|转错|看错|记错|"
                    r"(?:操作|点|转|填|输)的)|是(?:您|你)那边|问题出在(?:您|你)|"
                    r"(?:跟|和|与)(?:我们|银行|我)(?:没|无)(?:关|关系)|不归(?:我们|我)管|(?:您|你)(?:去)?找[^，,。]{1,8}去|(?<!不管)(?<!无论)(?<!不论)谁让(?:您|你)(?!转|汇|付|打)|"
                    r"(?:您|你)(?:要是|如果)早[^，,。]{0,12}就不会|是(?:您|你)记错|不是我们的(?:问题|责任)|那是[^，,。]{1,10}的问题")


def tone(clause: str) -> str | None:
    """``"rude"`` or ``"blame"`` when the clause plainly is, else None (the classifier decides)."""
    if _BLAME.search(clause):
        return "blame"
    if _RUDE.search(clause):
        return "rude"
    return None


# -- what a sentence states --------------------------------------------------------------------

# A tag after a statement asks for agreement, not for the statement: "…，可以吗？", "…好吗".
_TAG = re.compile(r"[，,]?\s*(?:(?:您|你)看)?(?:这样)?(?:可以|好|行|成|方便|合适|没问题)(?:吗|么|嘛|吧|不|呢)$|"
                  r"[，,]?\s*(?:(?:您|你)看)?(?:好不好|行不行|可不可以|可以不可以|成不成|方不方便|怎么样|如何)$|[，,]\s*(?:您|你)看呢$")
_FINAL_PARTICLE = re.compile(r"(?:吗|么)$")
_QUESTION_WORD = re.compile(r"([\u4e00-\u9fff])[不没]\1|可不可以|需不需要|愿不愿意|方不方便|有没有|是否|能否|可否|为什么|为何|"
                            r"怎么|怎样|什么|哪|谁|多少|几|还是")
# An interrogative that governs what follows it in its clause ("能不能先核验身份", "是否需要…").
# An interrogative asks about its own verb only ("能不能先核验", "什么时候能回到成本"), not about
# the predicate its clause is the subject of ("能否退还要信用卡中心核实后答复", "什么时候上线
# 评估后确定").
_INTERROGATIVE = re.compile(r"([\u4e00-\u9fff])[不没]\1|可不可以|需不需要|愿不愿意|方不方便|应不应该|有没有|是否|能否|"
                            r"可否|要不要")
_WH = re.compile(r"什么时候|为什么|为何|怎么|怎样|多久|何时")
# Words in quotes are mentioned ("“棱不棱”明显是识别有错"), not asked or said by the agent.
_QUOTED = re.compile(r"“[^”]*”|「[^」]*」|\"[^\"]*\"|‘[^’]*’")
_QUOTE_OPEN = re.compile(r"[“「‘]|\"")
# Someone else's words: the agent commits to nothing by reporting them.
_REPORTED_SPEECH = re.compile(r"(?:^|(?<=[，,：:])|(?<=虽然)|(?<=但是)|(?<=可是)|(?<=如果)|(?<=要是)|(?<=因为)|"
                              r"(?<=就算)|(?<=即使)|(?<=尽管)|(?<=哪怕)|(?<=而且))(?:客户|您|你|他|她|对方|骗子|有人|别人|他们|家人|朋友|网上|那人|不法分子)"
                              r"(?:刚才|之前|刚刚|也|还|一直|可能)?(?:说|讲|称|声称|表示|提到|以为|觉得|认为|听说)"
                              r"(?!得|明|法|服|清|一下|下|话|了算)|听说|据说|据称")
# A condition and what follows it: "如果不核验身份就查询，会…", "不核实身份的话，…", "不核验…是不行的".
_CONDITION_OPEN = re.compile(r"如果|假如|要是|若是|若|万一|一旦|倘若|如若|只要|假设")
_BAD = re.compile(r"不行|不可以|不能|不允许|不合规|不安全|不对|没法|无法|办不了|违规|违反|违法|风险|泄露|被骗|被盗|盗刷|盗用|"
                  r"冒领|冒充|损失|后果|隐患|危险|出问题|出事|麻烦|影响征信|罚息|担责|投诉|有问题|错误|错的|不负责")


def asserted_part(sentence: str, asked: bool) -> str | None:
    """The part of a sentence that asserts something: the sentence itself; the statement
    before a tag question ("我先核实您的身份，可以吗？"); None for a question."""
    text = sentence.strip()
    question = asked or bool(_FINAL_PARTICLE.search(text)) or (
        text.endswith("呢") and bool(_QUESTION_WORD.search(text)))
    if not question:
        return text
    unclosed = [m.start() for m in _QUOTE_OPEN.finditer(_QUOTED.sub(lambda q: "＿" * len(q.group()), text))]
    if unclosed:
        # The question is inside a quote: the agent quotes what they would ask ("所以我先复述
        # 他的诉求：“您是说…，对吗？”"); the frame before the quote is the statement.
        frame = text[:unclosed[-1]].rstrip("：:，, ")
        return frame if len(re.findall(r"[\u4e00-\u9fff]", frame)) >= 2 else None
    tag = _TAG.search(text)
    if tag and len(re.findall(r"[\u4e00-\u9fff]", text[:tag.start()])) >= 4:
        rest = text[:tag.start()].rstrip("，, ")
        if not _FINAL_PARTICLE.search(rest):
            return rest
    return None


def _questioned(clause: str, start: int, end: int) -> bool:
    masked = _NOT_NEGATION.sub(lambda m: "＿" * len(m.group()), clause)
    masked = _QUOTED.sub(lambda m: "＿" * len(m.group()), masked)
    for m in _INTERROGATIVE.finditer(masked):
        if m.start() >= end:
            break
        if re.search(r"[＿]是?$", masked[:m.start()]):
            continue  # "不管是不是本人" is not a question
        if m.end() > start or _LIGHT.match(masked[m.end():start]):
            return True  # "能不能追回", "后四位是否准确", "能不能先核验": the predicate is asked
    for m in _WH.finditer(masked[:start]):
        if _LIGHT.match(masked[m.end():start]):
            return True
    # The predicate itself asked: "核验不核验", "挂失没挂失".
    return bool(re.match(r"[不没]" + re.escape(clause[start:start + 1]), clause[start + 1:])) if start < len(clause) else False


def _warns_of_opposite(clause: str, start: int, end: int, after: str) -> bool:
    """A negated predicate in a condition whose consequence is bad: the opposite is warned
    against ("如果不核验身份就查询，会泄露信息", "不核验身份是不行的")."""
    openers = list(_CONDITION_OPEN.finditer(clause[:start]))
    opener = openers[-1] if openers else None
    # The predicate must sit in the condition, not in what follows it.
    opened = opener is not None and not re.search(r"[，,]|就|的话|那么", clause[opener.end():start])
    tail = clause[end:]
    if opened:
        close = re.search(r"[，,]|就|的话|那么|那|则", tail)
        consequence = f"{tail[close.end():] if close else ''}，{after}"
    elif (close := re.search(r"就|的话|那么|则", tail)) is not None:
        consequence = f"{tail[close.end():]}，{after}"
    elif (close := re.search(r"(?:是|会)(?=[^，,]*(?:" + _BAD.pattern + "))", tail)) is not None:
        consequence = tail[close.start():]
    else:
        return False
    for m in _BAD.finditer(consequence):
        if m.group()[0] in "不没无办" or not negation_parity(consequence, m.start(), m.end()):
            return True
    return False


def stance(clause: str, start: int, end: int, after: str = "", assertions_only: bool = False) -> int | None:
    """How ``clause`` stands on the predicate at ``start:end``: 0 stated, 1 negated, None
    nothing (asked: under an interrogative, "能不能先核验"; with ``assertions_only`` also
    someone else's words, "客户说不用核验").
    ``after`` is the rest of the sentence, where the consequence of a condition may stand."""
    if _questioned(clause, start, end) or assertions_only and _REPORTED_SPEECH.search(clause[:start]):
        return None
    parity = negation_parity(clause, start, end)
    if parity and _warns_of_opposite(clause, start, end, after):
        return 0
    return parity
