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
                    $"'{name}' is not a valid {kind} name: use 1 to {MaxLength} letters, digits, '.', '_' or '-', starting with a letter or digit.");
            }
        }
    }
}
