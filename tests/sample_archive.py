"""A small, realistic archive for the reader page's browser test and its screenshot.

Articles are written with tests.factories in the seeds/ format: a dozen Russian news items
over November 2019 from four sources, a run of daily exchange-rate notes (enough for more
than one page of results), one English article, and one whose title and body are HTML
that must show as text.
"""

from pathlib import Path

from tests.factories import write_article

XSS_TITLE = "<img src=x onerror=window.__xss=1> Фестиваль блогеров <script>window.__xss=2</script>"

ARTICLES: list[dict[str, object]] = [
    {
        "title": "В Омске завершилась работа форума сотрудничества России и Казахстана",
        "published": "2019-11-07T18:40:00+06:00",
        "authors": ("Екатерина Сумина",),
        "source": "ФедералПресс",
        "url": "https://fedpress.ru/news/55/economy/2360114",
        "paragraphs": (
            "ОМСК, 7 ноября, ФедералПресс. В Омске подвели итоги XVI Форума межрегионального "
            "сотрудничества России и Казахстана.",
            "За два дня участники форума подписали более сорока соглашений на общую сумму "
            "свыше 3,5 миллиарда рублей.",
            "Губернатор Омской области Александр Бурков назвал Казахстан главным партнёром "
            "региона.",
        ),
        "photo": "пресс-служба правительства Омской области",
    },
    {
        "title": "В Омске стартовал российско-казахстанский форум",
        "published": "2019-11-06T12:26:00+06:00",
        "authors": ("Екатерина Сумина",),
        "source": "ФедералПресс",
        "url": "https://fedpress.ru/news/55/economy/2359002",
        "paragraphs": (
            "ОМСК, 6 ноября, ФедералПресс. В Омске открылся форум межрегионального "
            "сотрудничества России и Казахстана.",
            "Он стартовал с выставки высокотехнологичной продукции в ТЦ «Континент».",
        ),
    },
    {
        "title": "Путин и Токаев обсудили приграничную торговлю",
        "published": "2019-11-07T15:05:00+03:00",
        "authors": ("Иван Петров", "Мария Кузнецова"),
        "source": "РИА Новости",
        "url": "https://ria.ru/20191107/1560641234.html",
        "paragraphs": (
            "Президенты России и Казахстана провели переговоры на полях форумов в Омске.",
            "Стороны договорились упростить пересечение границы для грузовиков.",
        ),
    },
    {
        "title": "Экономический форум в Сочи соберёт инвесторов из 40 стран",
        "published": "2019-11-12T10:00:00+03:00",
        "authors": ("Мария Кузнецова",),
        "source": "РИА Новости",
        "url": "https://ria.ru/20191112/1560800011.html",
        "paragraphs": (
            "Организаторы ожидают на форуме более пяти тысяч участников.",
            "Главной темой станет развитие инфраструктуры юга России.",
        ),
    },
    {
        "title": "В Москве выпал первый снег",
        "published": "2019-11-14T08:15:00+03:00",
        "authors": ("Ольга Смирнова",),
        "source": "Москва 24",
        "url": "https://www.m24.ru/news/gorod/14112019/96000",
        "paragraphs": (
            "Синоптики предупредили москвичей о гололедице на дорогах.",
            "К вечеру температура опустится до минус трёх градусов.",
        ),
    },
    {
        "title": "Метро Москвы продлит работу в ночь на 4 ноября",
        "published": "2019-11-02T19:30:00+03:00",
        "authors": ("Ольга Смирнова",),
        "source": "Москва 24",
        "url": "https://www.m24.ru/news/transport/02112019/95500",
        "paragraphs": (
            "В праздничную ночь станции будут открыты для входа до двух часов.",
            "Интервалы движения поездов составят не более десяти минут.",
        ),
    },
    {
        "title": "Томский университет вошёл в мировой рейтинг",
        "published": "2019-11-18T11:45:00+07:00",
        "authors": (),
        "source": "ФедералПресс",
        "url": "https://fedpress.ru/news/70/society/2365000",
        "paragraphs": (
            "ТГУ занял место в первой сотне рейтинга молодых университетов.",
            "Ректор поблагодарил преподавателей и студентов.",
        ),
    },
    {
        "title": "Хоккеисты «Авангарда» обыграли СКА в овертайме",
        "published": "2019-11-16T21:50:00+06:00",
        "authors": ("Андрей Волков",),
        "source": "Спорт-Экспресс",
        "url": "https://www.sport-express.ru/hockey/khl/news/1610000",
        "paragraphs": (
            "Победную шайбу на 63-й минуте забросил капитан команды.",
            "«Авангард» поднялся на третье место в Восточной конференции.",
        ),
    },
    {
        "title": "Oil prices rise after the OPEC meeting",
        "published": "2019-11-15T16:20:00+00:00",
        "authors": ("John Smith",),
        "source": "РИА Новости",
        "url": "https://ria.ru/20191115/1561000000.html",
        "paragraphs": (
            "Brent crude rose by two percent on Friday.",
            "Analysts expect the cuts to be extended.",
        ),
    },
    {
        "title": XSS_TITLE,
        "published": "2019-11-05T09:00:00+03:00",
        "authors": ("Андрей Волков",),
        "source": "Спорт-Экспресс",
        "url": "https://www.sport-express.ru/other/news/1600000",
        "paragraphs": (
            "Участники фестиваля обсудили <b>спортивные</b> трансляции "
            '<a href="javascript:window.__xss=3">ссылка</a>.',
            "Второй абзац & «кавычки» <i>курсив</i>.",
        ),
    },
]

RATES = (63.8, 63.9, 64.1, 63.7, 63.5, 63.6, 63.9, 64.0, 64.2, 63.8, 63.6, 63.4, 63.5, 63.7)


def write_sample_archive(folder: Path) -> int:
    """Write the archive's files into folder; returns how many articles were written."""
    for number, fields in enumerate(ARTICLES):
        write_article(folder, f"{number:03d}.txt", **fields)  # type: ignore[arg-type]
    for day, rate in enumerate(RATES, start=1):
        rate_text = f"{rate:.1f}".replace(".", ",")
        write_article(
            folder,
            f"rate-{day:02d}.txt",
            title=f"ЦБ установил курс доллара на {day} ноября: {rate_text} рубля",
            published=f"2019-11-{day:02d}T17:00:00+03:00",
            authors=(),
            source="РИА Новости",
            url=f"https://ria.ru/201911{day:02d}/rates.html",
            paragraphs=(
                f"Официальный курс доллара на {day} ноября составит {rate_text} рубля, "
                "сообщил Банк России.",
                "Курс евро изменился незначительно.",
            ),
        )
    return len(ARTICLES) + len(RATES)
