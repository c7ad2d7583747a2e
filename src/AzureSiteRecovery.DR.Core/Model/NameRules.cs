using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AzureSiteRecovery.DR.Core.Errors;

namespace AzureSiteRecovery.DR.Core.Model
{
    /// <summary>The one rule for names of vault objects: they become tags and resource names on recovery sites.</summary>
    public static class NameRules
    {
        public const int MaxLength = 64;
        private static readonly Regex Allowed = new Regex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant);

        public static void Validate(string kind, string? name)
        {
            if (string.IsNullOrEmpty(name) || name!.Length > MaxLength || !Allowed.IsMatch(name))
            {
                throw new InvalidSettingException(kind, name ?? "", "Name",
                    $"'{Printable(name)}' is not a valid {kind} name: use 1 to {MaxLength} letters, digits, '.', '_' or '-', starting with a letter or digit.");
            }
        }

        /// <summary>Where <paramref name="text"/> holds a control, line-separator or formatting character; -1 when it holds none.</summary>
        public static int IndexOfInvisible(string text)
        {
            for (var i = 0; i < text.Length; i++)
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(text[i]);
                if (category == UnicodeCategory.Control || category == UnicodeCategory.Format ||
                    category == UnicodeCategory.LineSeparator || category == UnicodeCategory.ParagraphSeparator)
                {
                    return i;
                }
            }
            return -1;
        }

        /// <summary>User text as a message may quote it: invisible characters as \uXXXX (no escape sequence reaches a console), at most 100 characters.</summary>
        public static string Printable(string? text)
        {
            if (text is null) return "";
            const int Shown = 100;
            var builder = new StringBuilder();
            foreach (var c in text.Length > Shown ? text.Substring(0, Shown) : text)
            {
                if (IndexOfInvisible(c.ToString()) == 0) builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                else builder.Append(c);
            }
            if (text.Length > Shown) builder.Append($"… ({text.Length:N0} characters)");
            return builder.ToString();
        }
    }
}
