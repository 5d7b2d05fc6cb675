#!/usr/bin/env python
"""Generate a deterministic corpus of article files in the seeds/ format, for load tests.

    python scripts/generate_corpus.py --count 100000 --out /tmp/corpus [--seed 42]
        [--malformed-rate 0.002] [--duplicate-rate 0.005]

Files go to OUT/000/000000.txt, OUT/000/000001.txt, … (at most 1000 a folder, so folders
stay listable; names sort in generation order, which is the ingest's order too). The same
seed and count give byte-identical files: everything comes from one random.Random(seed),
and no dict or set is iterated in an order that could vary between runs.

What it makes, on purpose (see generate()):

* several hundred sources (Russian-looking outlets such as «Вестник Омска», «Новости Томска»,
  «Омская правда», and some Latin-script ones), with Zipf-like article counts and each its own
  UTC offset and layout habits (blank first line, indented first paragraph);
* thousands of authors (Russian first name + surname, feminine surname forms for women) with
  Zipf-like frequency; about 45% of articles have no Author line, most of the rest one author,
  some two or three;
* dates from 2015-01-01 to 2024-12-31 in +00:00, +02:00, +03:00, +05:00, +07:00, -05:00;
* titles of 5–12 words; bodies of 1–8 KB of UTF-8, of inflected Russian word forms picked with
  a Zipf distribution, so a few words are in most articles and most words in few. The
  «форум» and «Казахстан» families are topics of a few per cent of the articles each;
* some photo credits; a unique URL per article, https://<domain>/news/<n>;
* duplicates (--duplicate-rate): a later file with an earlier article's URL, half of them
  byte-identical (the ingest leaves them unchanged), half edited (the ingest updates them);
* malformed files (--malformed-rate), cycling through: empty, binary (with NUL bytes),
  cp1251-encoded, no title line, no Published at line, an unparseable date, no Original line.

Counts are exact: round(count × rate) malformed files and duplicates, at random positions.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

FILES_PER_FOLDER = 1000
MALFORMED_KINDS = (
    "empty",
    "binary",
    "cp1251",
    "no_title",
    "no_published",
    "bad_date",
    "no_original",
)
# Bodies are drawn from pools made once (the pools grow with the corpus, up to a limit):
# sentences of Zipf-picked word forms, and paragraphs of 1–6 of those sentences.
SENTENCE_POOL = (4_000, 30_000)  # (least, most)
PARAGRAPH_POOL = (4_000, 60_000)
TOPIC_POOL = 1_000  # sentences on each topic (форум, Казахстан)
PARAGRAPH_MAX = 1_200  # bytes
FUNCTION_WORD_SHARE = 0.5  # weight of function words against their Zipf rank
AUTHOR_COUNT = 4_000
RUSSIAN_SOURCES = 380
LATIN_SOURCES = 40
BODY_MIN, BODY_MAX = 1024, 8192  # bytes of UTF-8 in the body (paragraphs joined)
DATE_FIRST = datetime(2015, 1, 1, 12, 0, tzinfo=UTC)  # ±12 h keeps every offset in range
DATE_LAST = datetime(2024, 12, 31, 12, 0, tzinfo=UTC)

# --- vocabulary -----------------------------------------------------------------------------
# Each entry is one lemma with its word forms, the commonest first. Helpers build the forms of
# regular declension patterns; irregular words are written out.

_HUSHING = "жшчщц"
_VELAR = "гкх"


def _plural_y(stem: str) -> str:
    """ы, or и after г к х ж ш ч щ (the spelling rule)."""
    return stem + ("и" if stem[-1] in _VELAR + "жшчщ" else "ы")


def noun_m(stem: str, plural: bool = True) -> list[str]:
    """Masculine, hard consonant: форум, форума, форуму, форумом, форуме, форумы, форумов."""
    instr = "ем" if stem[-1] in _HUSHING else "ом"
    forms = [stem, stem + "а", stem + "у", stem + instr, stem + "е"]
    if plural:
        gen_pl = stem + ("ей" if stem[-1] in "жшчщ" else "ов")
        forms += [_plural_y(stem), gen_pl, stem + "ам", stem + "ами", stem + "ах"]
    return forms


def noun_m_soft(stem: str, final: str = "ь") -> list[str]:
    """Masculine in -ь or -й: фестиваль, фестиваля…; музей, музея…"""
    gen_pl = "ев" if final == "й" else "ей"
    return [stem + final] + [
        stem + e for e in ("я", "ю", "ем", "е", "и", gen_pl, "ям", "ями", "ях")
    ]


def noun_f(stem: str, gen_pl: str | None = None) -> list[str]:
    """Feminine in -а: школа, школы, школе, школу, школой, школ, школам…"""
    instr = "ей" if stem[-1] in _HUSHING else "ой"
    plural = gen_pl if gen_pl is not None else stem
    return [stem + "а", _plural_y(stem), stem + "е", stem + "у", stem + instr, plural] + [
        stem + e for e in ("ам", "ами", "ах")
    ]


def noun_f_ya(stem: str, gen_pl: str) -> list[str]:
    """Feminine in -я: неделя, недели, неделе, неделю, неделей, недель…"""
    return (
        [stem + e for e in ("я", "и", "е", "ю", "ей")]
        + [gen_pl]
        + [stem + e for e in ("ям", "ями", "ях")]
    )


def noun_f_iya(stem: str) -> list[str]:
    """Feminine in -ия: компания, компании, компанию, компанией, компаний…"""
    return [stem + e for e in ("ия", "ии", "ию", "ией", "ий", "иям", "иями", "иях")]


def noun_f_soft(stem: str) -> list[str]:
    """Feminine in -ь: область, области, областью, областей…"""
    return [stem + e for e in ("ь", "и", "ью", "ей", "ям", "ями", "ях")]


def noun_n(stem: str, gen_pl: str | None = None) -> list[str]:
    """Neuter in -о: производство, производства, производству, производством…"""
    return [stem + e for e in ("о", "а", "у", "ом", "е")] + [
        gen_pl if gen_pl is not None else stem,
        stem + "ам",
        stem + "ами",
        stem + "ах",
    ]


def noun_n_ie(stem: str) -> list[str]:
    """Neuter in -ие: решение, решения, решению, решением, решении, решений…"""
    return [stem + e for e in ("ие", "ия", "ию", "ием", "ии", "ий", "иям", "иями", "иях")]


def adj(stem: str, ending: str = "ый") -> list[str]:
    """Adjectives: новый (hard), российский (after г к х), городской (stressed), последний."""
    if ending == "ий" and stem[-1] not in _VELAR + "жшчщ":  # soft: последний
        ends = ("ий", "его", "ему", "им", "ем", "яя", "ей", "юю", "ее", "ие", "их", "ими")
    elif ending in ("ий", "ой") and stem[-1] in _VELAR:
        ends = (ending, "ого", "ому", "им", "ом", "ая", "ой", "ую", "ое", "ие", "их", "ими")
    else:
        ends = (ending, "ого", "ому", "ым", "ом", "ая", "ой", "ую", "ое", "ые", "ых", "ыми")
    return [stem + e for e in ends]


def verb(stem: str, present: str) -> list[str]:
    """Past tense from the infinitive stem (заяви → заявил, заявила, заявили) + given forms."""
    return [stem + "л", stem + "ла", stem + "ли", stem + "ло", *present.split()]


def words(text: str) -> list[str]:
    return text.split()


# Function words, the commonest first: they top a Zipf ranking in any real text.
FUNCTION_WORDS: tuple[str, ...] = tuple(
    words(
        "в и на по с что не для о к из как за от это также до а его при он было года году "
        "который которые более уже после только но их ее так все где под между около том "
        "чтобы будет может этом этого время сейчас однако кроме того ранее словам"
    )
)

CONTENT_LEMMAS: tuple[list[str], ...] = (
    words("город города городе городу городом городов городах городам"),
    noun_m("регион"),
    noun_f_soft("област"),
    noun_m("район"),
    noun_f("работ"),
    noun_n("правительств"),
    adj("российск", "ий"),
    noun_f_iya("компан"),
    noun_m("проект"),
    noun_n_ie("решен"),
    verb("сообщи", "сообщает сообщают"),
    noun_f_ya("недел", "недель"),
    noun_m("губернатор"),
    adj("нов"),
    noun_f("программ"),
    noun_m("вопрос"),
    noun_n_ie("развит"),
    verb("заяви", "заявляет заявляют"),
    words("человек человека человеку человеком человеке люди людей людям"),
    noun_f("систем"),
    adj("главн"),
    noun_m("бюджет"),
    noun_n_ie("мероприят"),
    noun_f("школ"),
    adj("городск", "ой"),
    noun_m("закон"),
    noun_f_soft("власт"),
    noun_m("министр"),
    noun_m("депутат"),
    verb("отмети", "отмечает отмечают"),
    noun_n("строительств"),
    words("директор директора директору директором директоре директоров"),
    words("житель жителя жителю жителем жители жителей жителям жителями"),
    adj("последн", "ий"),
    noun_f("дорог"),
    noun_m("результат"),
    noun_n_ie("заявлен"),
    adj("федеральн"),
    noun_f("цен"),
    words("провели провел провела проводит проводят провести"),
    noun_m("объект"),
    noun_n_ie("предприят"),
    adj("местн"),
    noun_f_iya("ситуац"),
    noun_m("процесс"),
    noun_m("совет"),
    verb("планирова", "планирует планируют"),
    noun_n("обществ"),
    adj("региональн"),
    words("рынок рынка рынку рынком рынке рынки рынков"),
    noun_f("больниц"),
    noun_m("суд"),
    noun_n_ie("соглашен"),
    adj("социальн"),
    noun_m("банк"),
    noun_f("услуг"),
    verb("получи", "получает получают"),
    noun_m("транспорт", plural=False),
    noun_f("культур"),
    noun_n_ie("образован"),
    adj("областн"),
    noun_m("доход"),
    noun_m("кредит"),
    noun_m_soft("фестивал"),
    noun_m_soft("музе", "й"),
    noun_m("театр"),
    noun_m("парк"),
    words("мост моста мосту мостом мосту мосты мостов"),
    noun_m("аэропорт"),
    noun_m("вокзал"),
    noun_m("конкурс"),
    noun_m("турнир"),
    noun_m("матч"),
    noun_f("команд"),
    adj("спортивн"),
    noun_m("спорт", plural=False),
    noun_n_ie("здравоохранен")[:5],
    noun_n_ie("управлен"),
    noun_n_ie("учрежден"),
    noun_n_ie("событ"),
    noun_f_iya("энерг")[:4],
    noun_m("газ", plural=False),
    words("нефть нефти нефтью"),
    noun_n("производств"),
    adj("промышленн"),
    words("промышленность промышленности промышленностью"),
    noun_n("количеств"),
    words("уровень уровня уровню уровнем уровне уровни уровней"),
    adj("высок", "ий"),
    adj("крупн"),
    adj("международн"),
    adj("экономическ", "ий"),
    words("экономика экономики экономике экономику экономикой"),
    noun_m("специалист"),
    noun_m("эксперт"),
    verb("рассказа", "рассказывает рассказывают"),
    verb("объяви", "объявляет объявляют"),
    verb("подписа", "подписывает подписывают"),
    verb("откры", "открывает открывают"),
    verb("нача", "начинает начинают"),
    verb("заверши", "завершает завершают"),
    verb("обсуди", "обсуждает обсуждают"),
    verb("поддержа", "поддерживает поддерживают"),
    verb("увеличи", "увеличивает увеличивают"),
    verb("сократи", "сокращает сокращают"),
    verb("выдели", "выделяет выделяют"),
    verb("построи", "строит строят"),
    verb("отремонтирова", "ремонтирует ремонтируют"),
    verb("пообеща", "обещает обещают"),
    verb("подчеркну", "подчеркивает подчеркивают"),
    verb("предложи", "предлагает предлагают"),
    verb("утверди", "утверждает утверждают"),
    words("прошел прошла прошли проходит проходят"),
    words("гость гостя гостей гостям гостями гости"),
    noun_m("участник"),
    noun_f("встреч"),
    noun_m("центр"),
    noun_f_iya("администрац"),
    noun_f_iya("территор"),
    words("округ округа округе округом округов"),
    noun_n("министерств"),
    noun_m("президент"),
    noun_f("глав"),
    noun_m("мэр"),
    noun_f("дум"),
    adj("государственн"),
    adj("муниципальн"),
    adj("национальн"),
    words("большой большого большому большим большом большая большую большое большие"),
    words("молодой молодых молодежи молодежь молодежью"),
    words("семья семьи семье семью семьей семей семьям"),
    words("ребенок ребенка дети детей детям детьми"),
    words("врач врача врачу врачом враче врачи врачей"),
    noun_m("пациент"),
    words("помощь помощи помощью"),
    words("дом дома доме домом дому домов домах"),
    noun_f("квартир"),
    words("двор двора дворе дворы дворов дворах"),
    noun_f("улиц"),
    noun_f_soft("площад"),
    words("жилой жилого жилом жилые жилых"),
    noun_m("сезон"),
    words("месяц месяца месяце месяцы месяцев"),
    words("год лет годы годах"),
    words("рубль рубля рублей рублям"),
    words("миллион миллиона миллионов млн млрд"),
    words("процент процента процентов"),
    words("ближайшие ближайших ближайшее"),
    adj("современн"),
    adj("культурн"),
    adj("научн"),
    words("наука науки науке науку наукой"),
    noun_m("университет"),
    noun_m("студент"),
    words("ученый ученые ученых учеными"),
    noun_m("инвестор"),
    noun_f_iya("инвестиц"),
    noun_m("экспорт", plural=False),
    noun_m("импорт", plural=False),
    words("торговля торговли торговле торговлю торговлей"),
    noun_m("товар"),
    noun_f_iya("продукц")[:4],
    noun_m("сотрудник"),
    noun_f_iya("полиц")[:4],
    noun_n_ie("происшеств"),
    noun_m("пожар"),
    noun_f_iya("авар"),
    noun_m_soft("водител"),
    noun_m("автобус"),
    noun_m("маршрут"),
    words("погода погоды погоде погоду погодой"),
    noun_m("снег", plural=False),
    words("дождь дождя дожди дождей"),
    noun_f("температур"),
    adj("зимн", "ий"),
    adj("летн", "ий"),
    noun_m("праздник"),
    noun_m("концерт"),
    noun_f("выставк", gen_pl="выставок"),
    noun_m("фильм"),
    noun_m_soft("зрител"),
    noun_m("артист"),
    noun_m("памятник"),
    noun_f_iya("истор"),
    adj("историческ", "ий"),
    words("выборы выборов выборах выборам"),
    noun_m("кандидат"),
    noun_f_iya("парт"),
    words("голос голоса голосов"),
    noun_m("налог"),
    noun_m("тариф"),
    noun_f_iya("пенс"),
    noun_f("зарплат"),
    noun_n("сотрудничеств")[:5],
    noun_n_ie("отношен"),
    noun_m("партнер"),
    words("договор договора договоре договором договоры договоров"),
    noun_m("документ"),
    noun_f_iya("стратег"),
    noun_m("план"),
    noun_f("задач"),
    noun_f_soft("цел"),
    adj("важн"),
    adj("значительн"),
    adj("цифров"),
    noun_f_iya("технолог"),
    noun_m("интернет", plural=False),
    words("сеть сети сетью сетей"),
    noun_m("сайт"),
    words("безопасность безопасности безопасностью"),
    noun_f("границ"),
    noun_f_iya("арм")[:4],
    noun_m("мир", plural=False),
    noun_f("стран"),
    noun_f("столиц"),
    words("земля земли земле землю землей земель"),
    words("урожай урожая урожаю урожаем урожае"),
    words("хозяйство хозяйства хозяйству хозяйством хозяйстве"),
    adj("сельскохозяйственн"),
    noun_m("фермер"),
    words("вода воды воде воду водой"),
    words("лес леса лесу лесом лесов"),
    noun_f_iya("эколог")[:4],
    noun_m("мусор", plural=False),
    words("ремонт ремонта ремонту ремонтом ремонте ремонты ремонтов"),
    words("срок срока сроку сроком сроке сроки сроков"),
    noun_m("этап"),
    noun_m("шаг"),
    noun_m("итог"),
)

# Cities: nominative, genitive, dative, instrumental, prepositional; the stem of the adjective
# (Омск → Омская правда); Latin spelling for domains; the usual UTC offset of its outlets.
CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("Омск Омска Омску Омском Омске", "Омск", "omsk", "+05:00"),
    ("Томск Томска Томску Томском Томске", "Томск", "tomsk", "+07:00"),
    (
        "Новосибирск Новосибирска Новосибирску Новосибирском Новосибирске",
        "Новосибирск",
        "novosibirsk",
        "+07:00",
    ),
    ("Барнаул Барнаула Барнаулу Барнаулом Барнауле", "Барнаульск", "barnaul", "+07:00"),
    ("Иркутск Иркутска Иркутску Иркутском Иркутске", "Иркутск", "irkutsk", "+07:00"),
    (
        "Красноярск Красноярска Красноярску Красноярском Красноярске",
        "Красноярск",
        "krasnoyarsk",
        "+07:00",
    ),
    ("Тюмень Тюмени Тюмени Тюменью Тюмени", "Тюменск", "tyumen", "+05:00"),
    ("Курган Кургана Кургану Курганом Кургане", "Курганск", "kurgan", "+05:00"),
    ("Сургут Сургута Сургуту Сургутом Сургуте", "Сургутск", "surgut", "+05:00"),
    (
        "Екатеринбург Екатеринбурга Екатеринбургу Екатеринбургом Екатеринбурге",
        "Екатеринбургск",
        "ekaterinburg",
        "+05:00",
    ),
    (
        "Челябинск Челябинска Челябинску Челябинском Челябинске",
        "Челябинск",
        "chelyabinsk",
        "+05:00",
    ),
    ("Пермь Перми Перми Пермью Перми", "Пермск", "perm", "+05:00"),
    ("Уфа Уфы Уфе Уфой Уфе", "Уфимск", "ufa", "+05:00"),
    ("Казань Казани Казани Казанью Казани", "Казанск", "kazan", "+03:00"),
    ("Самара Самары Самаре Самарой Самаре", "Самарск", "samara", "+03:00"),
    ("Саратов Саратова Саратову Саратовом Саратове", "Саратовск", "saratov", "+03:00"),
    (
        "Волгоград Волгограда Волгограду Волгоградом Волгограде",
        "Волгоградск",
        "volgograd",
        "+03:00",
    ),
    ("Воронеж Воронежа Воронежу Воронежем Воронеже", "Воронежск", "voronezh", "+03:00"),
    ("Ростов Ростова Ростову Ростовом Ростове", "Ростовск", "rostov", "+03:00"),
    (
        "Краснодар Краснодара Краснодару Краснодаром Краснодаре",
        "Краснодарск",
        "krasnodar",
        "+03:00",
    ),
    (
        "Ставрополь Ставрополя Ставрополю Ставрополем Ставрополе",
        "Ставропольск",
        "stavropol",
        "+03:00",
    ),
    ("Астрахань Астрахани Астрахани Астраханью Астрахани", "Астраханск", "astrakhan", "+03:00"),
    ("Оренбург Оренбурга Оренбургу Оренбургом Оренбурге", "Оренбургск", "orenburg", "+05:00"),
    ("Пенза Пензы Пензе Пензой Пензе", "Пензенск", "penza", "+03:00"),
    ("Ульяновск Ульяновска Ульяновску Ульяновском Ульяновске", "Ульяновск", "ulyanovsk", "+03:00"),
    ("Киров Кирова Кирову Кировом Кирове", "Кировск", "kirov", "+03:00"),
    ("Ижевск Ижевска Ижевску Ижевском Ижевске", "Ижевск", "izhevsk", "+03:00"),
    ("Ярославль Ярославля Ярославлю Ярославлем Ярославле", "Ярославск", "yaroslavl", "+03:00"),
    ("Тверь Твери Твери Тверью Твери", "Тверск", "tver", "+03:00"),
    ("Тула Тулы Туле Тулой Туле", "Тульск", "tula", "+03:00"),
    ("Рязань Рязани Рязани Рязанью Рязани", "Рязанск", "ryazan", "+03:00"),
    ("Калуга Калуги Калуге Калугой Калуге", "Калужск", "kaluga", "+03:00"),
    ("Смоленск Смоленска Смоленску Смоленском Смоленске", "Смоленск", "smolensk", "+03:00"),
    ("Брянск Брянска Брянску Брянском Брянске", "Брянск", "bryansk", "+03:00"),
    ("Курск Курска Курску Курском Курске", "Курск", "kursk", "+03:00"),
    ("Липецк Липецка Липецку Липецком Липецке", "Липецк", "lipetsk", "+03:00"),
    ("Тамбов Тамбова Тамбову Тамбовом Тамбове", "Тамбовск", "tambov", "+03:00"),
    ("Белгород Белгорода Белгороду Белгородом Белгороде", "Белгородск", "belgorod", "+03:00"),
    ("Владимир Владимира Владимиру Владимиром Владимире", "Владимирск", "vladimir", "+03:00"),
    ("Кострома Костромы Костроме Костромой Костроме", "Костромск", "kostroma", "+03:00"),
    ("Вологда Вологды Вологде Вологдой Вологде", "Вологодск", "vologda", "+03:00"),
    (
        "Архангельск Архангельска Архангельску Архангельском Архангельске",
        "Архангельск",
        "arkhangelsk",
        "+03:00",
    ),
    ("Мурманск Мурманска Мурманску Мурманском Мурманске", "Мурманск", "murmansk", "+03:00"),
    (
        "Петрозаводск Петрозаводска Петрозаводску Петрозаводском Петрозаводске",
        "Петрозаводск",
        "petrozavodsk",
        "+03:00",
    ),
    ("Псков Пскова Пскову Псковом Пскове", "Псковск", "pskov", "+03:00"),
    (
        "Калининград Калининграда Калининграду Калининградом Калининграде",
        "Калининградск",
        "kaliningrad",
        "+02:00",
    ),
    ("Кемерово Кемерово Кемерово Кемерово Кемерово", "Кемеровск", "kemerovo", "+07:00"),
    (
        "Новокузнецк Новокузнецка Новокузнецку Новокузнецком Новокузнецке",
        "Новокузнецк",
        "novokuznetsk",
        "+07:00",
    ),
    ("Абакан Абакана Абакану Абаканом Абакане", "Абаканск", "abakan", "+07:00"),
    ("Чита Читы Чите Читой Чите", "Читинск", "chita", "+07:00"),
    ("Якутск Якутска Якутску Якутском Якутске", "Якутск", "yakutsk", "+07:00"),
    ("Хабаровск Хабаровска Хабаровску Хабаровском Хабаровске", "Хабаровск", "khabarovsk", "+07:00"),
    (
        "Владивосток Владивостока Владивостоку Владивостоком Владивостоке",
        "Владивостокск",
        "vladivostok",
        "+07:00",
    ),
    (
        "Благовещенск Благовещенска Благовещенску Благовещенском Благовещенске",
        "Благовещенск",
        "blagoveshchensk",
        "+07:00",
    ),
    ("Магадан Магадана Магадану Магаданом Магадане", "Магаданск", "magadan", "+07:00"),
    ("Сочи Сочи Сочи Сочи Сочи", "Сочинск", "sochi", "+03:00"),
    ("Махачкала Махачкалы Махачкале Махачкалой Махачкале", "Махачкалинск", "makhachkala", "+03:00"),
    ("Норильск Норильска Норильску Норильском Норильске", "Норильск", "norilsk", "+07:00"),
    ("Салехард Салехарда Салехарду Салехардом Салехарде", "Салехардск", "salekhard", "+05:00"),
    (
        "Нижневартовск Нижневартовска Нижневартовску Нижневартовском Нижневартовске",
        "Нижневартовск",
        "nizhnevartovsk",
        "+05:00",
    ),
)

# Russian outlet names: (template, domain template); {gen} genitive, {nom} nominative,
# {adj_f}/{adj_m} the adjective, {tr} the Latin spelling.
RUSSIAN_SOURCE_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("Вестник {gen}", "vestnik-{tr}.ru"),
    ("Новости {gen}", "novosti-{tr}.ru"),
    ("Голос {gen}", "golos-{tr}.ru"),
    ("Эхо {gen}", "echo-{tr}.ru"),
    ("Курьер {gen}", "kurier-{tr}.ru"),
    ("Огни {gen}", "ogni-{tr}.ru"),
    ("{nom} сегодня", "{tr}-segodnya.ru"),
    ("{nom}-Информ", "{tr}-inform.ru"),
    ("{nom} 24", "{tr}24.ru"),
    ("{adj_f} правда", "pravda-{tr}.ru"),
    ("{adj_m} вестник", "{tr}-vestnik.ru"),
    ("{adj_f} газета", "gazeta-{tr}.ru"),
    ("Деловой {nom}", "business-{tr}.ru"),
)
LATIN_SOURCE_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("{City} Daily", "{tr}daily.com"),
    ("{City} Times", "{tr}times.com"),
    ("The {City} Herald", "{tr}-herald.com"),
    ("{City} News Online", "{tr}news.net"),
)
LATIN_OFFSETS = ("+00:00", "-05:00", "+02:00", "+03:00", "-05:00")

MALE_NAMES = words(
    "Александр Алексей Андрей Антон Артем Борис Вадим Валентин Валерий Василий Виктор "
    "Виталий Владимир Владислав Вячеслав Геннадий Георгий Глеб Григорий Даниил Денис "
    "Дмитрий Евгений Егор Иван Игорь Илья Кирилл Константин Леонид Максим Марк Михаил "
    "Никита Николай Олег Павел Петр Роман Руслан Сергей Станислав Степан Тимур Федор Юрий "
    "Ярослав Арсений Эдуард Аркадий"
)
FEMALE_NAMES = words(
    "Александра Алина Алла Анастасия Анна Валентина Валерия Вера Виктория Галина Дарья "
    "Диана Евгения Екатерина Елена Елизавета Жанна Зоя Инна Ирина Карина Кира Кристина "
    "Ксения Лариса Любовь Людмила Маргарита Марина Мария Надежда Наталья Нина Оксана Ольга "
    "Полина Раиса Светлана София Тамара Татьяна Ульяна Юлия Яна Алена Вероника Эльвира"
)
# Surnames in the masculine form; the feminine is made by feminine_surname().
SURNAMES = words(
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Федоров "
    "Морозов Волков Алексеев Лебедев Семенов Егоров Павлов Козлов Степанов Николаев Орлов "
    "Андреев Макаров Никитин Захаров Зайцев Соловьев Борисов Яковлев Григорьев Романов "
    "Воробьев Сергеев Кузьмин Фролов Александров Дмитриев Королев Гусев Киселев Ильин "
    "Максимов Поляков Сорокин Виноградов Ковалев Белов Медведев Антонов Тарасов Жуков "
    "Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов Сидоров Матвеев "
    "Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов Гаврилов Тихонов "
    "Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов "
    "Федотов Щербаков Назаров Калинин Исаев Чернышев Быков Маслов Родионов Коновалов "
    "Лазарев Воронин Климов Филатов Пономарев Голубев Кудрявцев Прохоров Наумов Потапов "
    "Журавлев Овчинников Трофимов Леонов Соболев Ермаков Колесников Гончаров Емельянов "
    "Никифоров Грачев Котов Гришин Ефремов Архипов Громов Кириллов Малышев Панов Моисеев "
    "Румянцев Акимов Кондратьев Бирюков Горбунов Анисимов Еремин Тихомиров Галкин Лукьянов "
    "Михеев Скворцов Юдин Белоусов Нестеров Симонов Прокофьев Харитонов Князев Цветков "
    "Левин Митрофанов Воронов Аксенов Софронов Мальцев Логинов Горшков Савин Краснов "
    "Майоров Демидов Елисеев Рыбаков Сафонов Суворов Сумин Островский Вишневский "
    "Ковальский Полянский Заречный Береговой Толстой Белозерский Дубровский Шевчук "
    "Бондаренко Коваленко Ткаченко Кравченко Шевченко Черных Седых Долгих Ким Цой Гарипов "
    "Хабибуллин Сафин Галиев Ахметов Нуриев"
)
PHOTO_CREDITS = (
    "пресс-служба правительства региона",
    "пресс-служба администрации {gen}",
    "архив редакции",
    "«{source}»",
    "{author}",
    "открытые источники",
    "pixabay.com",
    "мэрия {gen}",
    "пресс-служба губернатора",
)

# Topic families: a few per cent of the articles are about each, so a search for them finds
# a few per cent of the corpus (and the rest of the vocabulary never holds them).
FORUM_FORMS = noun_m("форум")
FORUM_ADJECTIVES = words(
    "межрегиональный межрегионального межрегиональном международный международного "
    "российско-казахстанский российско-казахстанского экономический экономического "
    "молодежный молодежного инвестиционный инвестиционного"
)
KAZAKHSTAN_FORMS = words("Казахстан Казахстана Казахстану Казахстаном Казахстане")
KAZAKHSTAN_RELATED = words(
    "казахстанский казахстанского казахстанской казахстанские казахстанских Астана Астаны "
    "Астане Алматы Республики республикой"
)
FORUM_RATE = 0.04  # articles about a forum
KAZAKHSTAN_RATE = 0.03  # articles about Kazakhstan (independent of the above)
NO_AUTHOR_RATE = 0.45
PHOTO_RATE = 0.3


# --- generation -----------------------------------------------------------------------------


@dataclass
class Summary:
    files: int = 0  # files written
    articles: int = 0  # distinct URLs among the well-formed files
    malformed: int = 0
    duplicates: int = 0  # files repeating an earlier article's URL
    changed_duplicates: int = 0  # of those, with edited content (the rest byte-identical)
    malformed_by_kind: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"files written: {self.files}, articles: {self.articles}, "
            f"malformed: {self.malformed}, duplicates: {self.duplicates} "
            f"({self.changed_duplicates} changed), seconds: {self.seconds:.1f}"
        )


@dataclass(frozen=True)
class _Source:
    name: str
    domain: str
    offset: timezone
    city: int  # index into CITIES
    in_city: str  # "в Омске"
    city_genitive: str  # "Омска"
    leading_blank: bool  # the file starts with a blank line
    indent_first: bool  # the first paragraph indented by 8 spaces


@dataclass
class _Article:
    title: str
    published: str
    authors: tuple[str, ...]
    source: _Source
    url: str
    paragraphs: list[bytes]  # UTF-8
    photo: str | None


def _zipf_cum_weights(n: int, exponent: float, offset: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + offset) ** exponent for rank in range(n)))


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def feminine_surname(surname: str) -> str:
    """Иванов → Иванова, Ильин → Ильина, Островский → Островская, Толстой → Толстая; surnames
    in -ко, -ых/-их, -ук or of non-Russian pattern stay as they are."""
    if surname.endswith(("ов", "ев", "ин", "ын")):
        return surname + "а"
    if surname.endswith(("ий", "ый")) or (surname.endswith("ой") and len(surname) > 4):
        return surname[:-2] + "ая"
    return surname


class _Generator:
    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self._make_vocabulary()
        self.sources, self.source_cum = self._make_sources()
        self.authors, self.author_cum = self._make_authors()
        n_sentences = min(max(count // 3, SENTENCE_POOL[0]), SENTENCE_POOL[1])
        self.sentences = [self._sentence().encode() for _ in range(n_sentences)]
        self.forum_sentences = [self._topic_sentence(True).encode() for _ in range(TOPIC_POOL)]
        self.kz_sentences = [self._topic_sentence(False).encode() for _ in range(TOPIC_POOL)]
        n_paragraphs = min(max(count // 2, PARAGRAPH_POOL[0]), PARAGRAPH_POOL[1])
        self.paragraphs = [self._paragraph(self.sentences) for _ in range(n_paragraphs)]
        self.span_minutes = int((DATE_LAST - DATE_FIRST).total_seconds()) // 60

    # vocabulary and pools

    def _make_vocabulary(self) -> None:
        """Word forms with Zipf weights: the lemma's rank sets its weight, shared among its
        forms with the first forms commoner. Function words rank first."""
        lemmas: list[list[str]] = [[w] for w in FUNCTION_WORDS]
        content: list[list[str]] = [list(forms) for forms in CONTENT_LEMMAS if forms]
        cities = [city[0].split() for city in CITIES]
        # Interleave the cities into the content words so some are common, most rare.
        for i, city in enumerate(cities):
            content.insert(min(len(content), 8 + i * 5), city)
        lemmas += content
        forms: list[str] = []
        weights: list[float] = []
        content_forms: list[str] = []
        content_weights: list[float] = []
        for rank, lemma_forms in enumerate(lemmas):
            lemma_weight = 1.0 / (rank + 2.0) ** 1.05
            shares = [1.0 / (j + 1) for j in range(len(lemma_forms))]
            total = sum(shares)
            for form, share in zip(lemma_forms, shares, strict=True):
                forms.append(form)
                weights.append(lemma_weight * share / total)
                if rank < len(FUNCTION_WORDS):
                    weights[-1] *= FUNCTION_WORD_SHARE
                else:
                    content_forms.append(form)
                    content_weights.append(lemma_weight * share / total)
        self.forms = forms
        self.form_cum = list(itertools.accumulate(weights))
        self.content_forms = content_forms
        self.content_cum = list(itertools.accumulate(content_weights))

    def _sentence(self) -> str:
        rng = self.rng
        n = rng.randint(6, 18)
        tokens = rng.choices(self.forms, cum_weights=self.form_cum, k=n)
        tokens[0] = rng.choices(self.content_forms, cum_weights=self.content_cum)[0]
        roll = rng.random()
        if roll < 0.12:
            tokens.insert(rng.randrange(1, n), str(rng.randint(2, 2024)))
        elif roll < 0.18:
            tokens.insert(rng.randrange(1, n), f"{rng.randint(1, 99)}%")
        elif roll < 0.24:
            city = CITIES[rng.randrange(len(CITIES))][0].split()
            tokens.insert(rng.randrange(1, n), f"«{rng.choice(city)}»")
        if n > 8 and rng.random() < 0.5:
            comma = rng.randrange(2, n - 2)
            tokens[comma] += ","
        end = "." if rng.random() < 0.95 else rng.choice(("!", "?", "…"))
        return _capitalise(" ".join(tokens)) + end

    def _topic_sentence(self, forum: bool) -> str:
        rng = self.rng
        sentence = self._sentence().split(" ")
        if forum:
            words_ = [rng.choice(FORUM_FORMS)]
            if rng.random() < 0.5:
                words_.insert(0, rng.choice(FORUM_ADJECTIVES))
        else:
            words_ = [rng.choice(KAZAKHSTAN_FORMS)]
            if rng.random() < 0.4:
                words_.append(rng.choice(KAZAKHSTAN_RELATED))
        at = rng.randrange(1, len(sentence))
        sentence[at:at] = words_
        return " ".join(sentence)

    def _make_sources(self) -> tuple[list[_Source], list[float]]:
        rng = self.rng
        combos = [(c, t) for c in range(len(CITIES)) for t in range(len(RUSSIAN_SOURCE_TEMPLATES))]
        rng.shuffle(combos)
        sources: list[_Source] = []
        for city_index, template_index in combos[:RUSSIAN_SOURCES]:
            forms, adj_stem, tr, offset = CITIES[city_index]
            nom, gen = forms.split()[:2]
            name_t, domain_t = RUSSIAN_SOURCE_TEMPLATES[template_index]
            name = name_t.format(nom=nom, gen=gen, adj_f=adj_stem + "ая", adj_m=adj_stem + "ий")
            if rng.random() < 0.15:  # Moscow-based editors, or an aggregator in UTC
                offset = rng.choice(("+03:00", "+00:00"))
            sources.append(self._source(name, domain_t.format(tr=tr), offset, city_index))
        latin = [(c, t) for c in range(len(CITIES)) for t in range(len(LATIN_SOURCE_TEMPLATES))]
        rng.shuffle(latin)
        for city_index, template_index in latin[:LATIN_SOURCES]:
            tr = CITIES[city_index][2]
            city = "-".join(part.capitalize() for part in tr.split("-"))
            name_t, domain_t = LATIN_SOURCE_TEMPLATES[template_index]
            name = name_t.format(City=city)
            domain = domain_t.format(tr=tr.replace("-", ""))
            sources.append(self._source(name, domain, rng.choice(LATIN_OFFSETS), city_index))
        rng.shuffle(sources)  # Zipf rank independent of the template
        return sources, _zipf_cum_weights(len(sources), 1.0, offset=2.0)

    def _source(self, name: str, domain: str, offset: str, city: int) -> _Source:
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = (int(part) for part in offset[1:].split(":"))
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        rng = self.rng
        forms = CITIES[city][0].split()
        in_city, genitive = f"в {forms[4]}", forms[1]
        return _Source(
            name, domain, tz, city, in_city, genitive, rng.random() < 0.8, rng.random() < 0.7
        )

    def _make_authors(self) -> tuple[list[str], list[float]]:
        rng = self.rng
        seen: set[str] = set()
        authors: list[str] = []
        while len(authors) < AUTHOR_COUNT:
            surname = rng.choice(SURNAMES)
            if rng.random() < 0.5:
                name = f"{rng.choice(MALE_NAMES)} {surname}"
            else:
                name = f"{rng.choice(FEMALE_NAMES)} {feminine_surname(surname)}"
            if name not in seen:
                seen.add(name)
                authors.append(name)
        return authors, _zipf_cum_weights(len(authors), 0.9, offset=3.0)

    # articles

    def article(self, number: int) -> _Article:
        rng = self.rng
        source = rng.choices(self.sources, cum_weights=self.source_cum)[0]
        forum = rng.random() < FORUM_RATE
        kazakhstan = rng.random() < KAZAKHSTAN_RATE

        n_words = rng.randint(5, 12)
        in_city = rng.random() < 0.6  # "… в Омске …": two of the words
        k = n_words - 2 if in_city else n_words
        title_words = rng.choices(self.content_forms, cum_weights=self.content_cum, k=k)
        if forum and rng.random() < 0.6:
            title_words[rng.randrange(k)] = rng.choice(FORUM_FORMS)
        if kazakhstan and rng.random() < 0.6:
            title_words[-1] = rng.choice(KAZAKHSTAN_FORMS)
        if in_city:
            title_words.insert(rng.randrange(1, k + 1), source.in_city)
        title = _capitalise(" ".join(title_words))

        minute = rng.randrange(self.span_minutes)
        when = (DATE_FIRST + timedelta(minutes=minute)).astimezone(source.offset)
        published = when.isoformat()

        roll = rng.random()
        if roll < NO_AUTHOR_RATE:
            authors: tuple[str, ...] = ()
        else:
            k = 1 if roll < 0.90 else (2 if roll < 0.97 else 3)
            picked = rng.choices(self.authors, cum_weights=self.author_cum, k=k)
            authors = tuple(dict.fromkeys(picked))  # ordered, no repeats

        paragraphs = self._body(forum, kazakhstan)

        photo = None
        if rng.random() < PHOTO_RATE:
            credit = rng.choice(PHOTO_CREDITS)
            photo = credit.format(
                gen=source.city_genitive,
                source=source.name,
                author=authors[0] if authors else "архив редакции",
            )
        url = f"https://{source.domain}/news/{number}"
        return _Article(title, published, authors, source, url, paragraphs, photo)

    def _paragraph(self, sentences: list[bytes], first: bytes | None = None) -> bytes:
        """1–6 sentences, at most PARAGRAPH_MAX bytes (a first sentence, if given, included)."""
        rng = self.rng
        picked = [first] if first else []
        size = len(first) if first else -1
        for sentence in rng.choices(sentences, k=rng.randint(1, 6) - len(picked)):
            if size + 1 + len(sentence) > PARAGRAPH_MAX:
                break
            picked.append(sentence)
            size += 1 + len(sentence)
        if first and len(picked) > 1 and rng.random() < 0.5:  # not always the opening one
            picked[0], picked[1] = picked[1], picked[0]
        return b" ".join(picked) if picked else sentences[0]

    def _body(self, forum: bool, kazakhstan: bool) -> list[bytes]:
        """Paragraphs from the pool, BODY_MIN..BODY_MAX bytes in all (joined by \\n)."""
        rng = self.rng
        target = int(rng.triangular(BODY_MIN + 400, BODY_MAX - 100, 2600))
        paragraphs: list[bytes] = []
        size = -1  # n paragraphs, n - 1 newlines
        for topic, pool in ((forum, self.forum_sentences), (kazakhstan, self.kz_sentences)):
            if topic:
                for _ in range(rng.randint(1, 2)):
                    paragraph = self._paragraph(self.sentences, rng.choice(pool))
                    paragraphs.append(paragraph)
                    size += 1 + len(paragraph)
        for paragraph in rng.choices(self.paragraphs, k=target // 400 + 4):
            grow = 1 + len(paragraph)
            if size + grow <= target:
                paragraphs.append(paragraph)
                size += grow
                if size >= target - 300:
                    break
        while size < BODY_MIN:  # short paragraphs drawn: top up with sentences
            sentence = rng.choice(self.sentences)
            paragraphs.append(sentence)
            size += 1 + len(sentence)
        if len(paragraphs) > 2 and (forum or kazakhstan):  # the topic early, not always first
            at = rng.randrange(3)
            paragraphs.insert(at, paragraphs.pop(0))
        return paragraphs


def render(article: _Article) -> bytes:
    """The file's bytes, in the layout of seeds/ (and tests/factories.py)."""
    source = article.source
    head = "\n" if source.leading_blank else ""
    head += f"# {article.title}\n\nPublished at: **{article.published}**\n\n"
    if article.authors:
        head += f"Author: **{', '.join(article.authors)}**\n\n"
    head += f"Original: [{source.name}]({article.url})\n\n\n"
    body = b"\n".join(article.paragraphs)
    if source.indent_first:
        body = b"        " + body
    tail = f"\n\n        Фото: {article.photo}\n      \n" if article.photo else "\n"
    return head.encode() + body + tail.encode()


def malformed(kind: str, article: _Article, rng: random.Random) -> bytes:
    """A file the ingest must reject, of one kind."""
    if kind == "empty":
        return b"" if rng.random() < 0.5 else b"\n   \n"
    if kind == "binary":
        return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(rng.randint(64, 2048))
    text = render(article).decode()
    if kind == "cp1251":
        return text.encode("cp1251", errors="replace")
    if kind == "no_title":
        return text.replace(f"# {article.title}", article.title, 1).encode()
    if kind == "no_published":
        return text.replace(f"Published at: **{article.published}**\n", "", 1).encode()
    if kind == "bad_date":
        bad = rng.choice(("31.02.2019 25:61", "вчера, 14:30", "2019-13-45T99:00:00+03:00"))
        return text.replace(article.published, bad, 1).encode()
    if kind == "no_original":
        return text.replace(f"Original: [{article.source.name}]({article.url})\n", "", 1).encode()
    raise ValueError(f"unknown kind of malformed file: {kind}")


def _edited(article: _Article, rng: random.Random, generator: _Generator) -> _Article:
    """The same URL, slightly changed content: a corrected title or an added paragraph."""
    if rng.random() < 0.5:
        return _Article(
            article.title + " (обновлено)",
            article.published,
            article.authors,
            article.source,
            article.url,
            article.paragraphs,
            article.photo,
        )
    extra = rng.choice(generator.sentences)
    return _Article(
        article.title,
        article.published,
        article.authors,
        article.source,
        article.url,
        [*article.paragraphs, "Обновлено: ".encode() + extra],
        article.photo,
    )


def _write(path: str, data: bytes) -> None:
    """open(path, "wb").write(data) with half the overhead (100,000 files: seconds)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def generate(
    count: int,
    out: str | Path,
    seed: int = 42,
    malformed_rate: float = 0.002,
    duplicate_rate: float = 0.005,
) -> Summary:
    """Write count files under out (created if need be); the same arguments, the same bytes."""
    if count < 0:
        raise ValueError("count must be >= 0")
    for name, rate in (("malformed_rate", malformed_rate), ("duplicate_rate", duplicate_rate)):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1")
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    generator = _Generator(rng, count)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    n_malformed = min(count, round(count * malformed_rate))
    n_duplicates = min(count - n_malformed, round(count * duplicate_rate))
    # (A duplicate's place before any well-formed article gets a new article instead.)
    special = rng.sample(range(count), n_malformed + n_duplicates)
    malformed_at = set(special[:n_malformed])
    duplicate_at = set(special[n_malformed:])

    summary = Summary(malformed_by_kind={kind: 0 for kind in MALFORMED_KINDS})
    folder_width = max(3, len(str(max(count - 1, 0) // FILES_PER_FOLDER)))
    name_width = max(6, len(str(max(count - 1, 0))))
    recent: list[_Article] = []  # well-formed originals a duplicate may repeat
    folder = ""
    for index in range(count):
        if index % FILES_PER_FOLDER == 0:
            folder = str(out / f"{index // FILES_PER_FOLDER:0{folder_width}d}")
            os.makedirs(folder, exist_ok=True)
        if index in duplicate_at and recent:
            # Mostly a recent article (the same ingest batch, often), sometimes an old one.
            pick = len(recent) - 1 - min(int(rng.expovariate(1 / 200)), len(recent) - 1)
            original = recent.pop(pick)
            if rng.random() < 0.5:
                data = render(original)
            else:
                data = render(_edited(original, rng, generator))
                summary.changed_duplicates += 1
            summary.duplicates += 1
        elif index in malformed_at:
            kind = MALFORMED_KINDS[summary.malformed % len(MALFORMED_KINDS)]
            data = malformed(kind, generator.article(index + 1), rng)
            summary.malformed += 1
            summary.malformed_by_kind[kind] += 1
        else:
            article = generator.article(index + 1)
            data = render(article)
            summary.articles += 1
            recent.append(article)
            if len(recent) > 20_000:
                del recent[:10_000]
        _write(f"{folder}{os.sep}{index:0{name_width}d}.txt", data)
        summary.files += 1
    summary.seconds = time.perf_counter() - started
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a deterministic corpus of article files in the seeds/ format."
    )
    parser.add_argument("--count", type=int, required=True, help="number of files")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--malformed-rate", type=float, default=0.002, help="share of bad files (0.002)"
    )
    parser.add_argument(
        "--duplicate-rate", type=float, default=0.005, help="share of repeated URLs (0.005)"
    )
    args = parser.parse_args(argv)
    try:
        summary = generate(
            args.count, args.out, args.seed, args.malformed_rate, args.duplicate_rate
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
